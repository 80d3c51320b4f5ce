namespace Pipeline.Core.Sources.Streams;

/// <summary>How a stream batch ended, by the ESM's rules for a partial batch response.</summary>
public enum BatchVerdictKind
{
    /// <summary>Every record succeeded: checkpoint past the batch.</summary>
    Success,

    /// <summary>Records from <see cref="BatchVerdict.RetryFrom"/> on failed: checkpoint below it, retry from it.</summary>
    PartialFailure,

    /// <summary>The whole batch failed (a function error, or a response naming no valid record).</summary>
    CompleteFailure,
}

/// <summary>The verdict on one batch; <see cref="Reason"/> says why for failures.</summary>
public sealed record BatchVerdict(BatchVerdictKind Kind, string? RetryFrom, string? Reason)
{
    public static BatchVerdict Succeeded { get; } = new(BatchVerdictKind.Success, null, null);
}

/// <summary>What to do with a failed stream batch.</summary>
public enum FailedBatchAction
{
    /// <summary>Invoke the same records again.</summary>
    Retry,

    /// <summary>Split the batch in two and retry each half (does not consume a retry).</summary>
    Bisect,

    /// <summary>Give up: send the batch's description to the on-failure destination and move on.</summary>
    Discard,
}

/// <summary>A decision for a failed batch; <see cref="Condition"/> is AWS's name for why it was discarded.</summary>
public sealed record FailedBatchDecision(FailedBatchAction Action, string? Condition)
{
    public const string RetryAttemptsExhausted = "RetryAttemptsExhausted";
    public const string RecordAgeExceeded = "RecordAgeExceeded";
}

/// <summary>
/// Kinesis ESM failure handling (AWS docs: services-kinesis-batchfailurereporting, kinesis-on-failure-destination):
/// how a partial batch response reads, and when a failed batch is retried, bisected or discarded.
/// </summary>
public static class StreamBatchRules
{
    /// <summary>
    /// Reads a <c>batchItemFailures</c> response. Complete success: a null or empty list. Complete failure: an empty or
    /// null <c>itemIdentifier</c>, or one that names no record of the batch. Otherwise the lowest failed sequence
    /// number becomes the point to retry from (everything before it is done).
    /// </summary>
    public static BatchVerdict Interpret(IReadOnlyList<string> batchSequenceNumbers, IReadOnlyList<string?>? failedIdentifiers)
    {
        ArgumentNullException.ThrowIfNull(batchSequenceNumbers);
        if (failedIdentifiers is null || failedIdentifiers.Count == 0)
        {
            return BatchVerdict.Succeeded;
        }

        var inBatch = new HashSet<string>(batchSequenceNumbers, StringComparer.Ordinal);
        string? lowest = null;
        foreach (string? id in failedIdentifiers)
        {
            if (string.IsNullOrEmpty(id))
            {
                return new BatchVerdict(BatchVerdictKind.CompleteFailure, batchSequenceNumbers.FirstOrDefault(), "a batchItemFailures entry has an empty or null itemIdentifier");
            }

            if (!inBatch.Contains(id))
            {
                return new BatchVerdict(BatchVerdictKind.CompleteFailure, batchSequenceNumbers.FirstOrDefault(), $"itemIdentifier '{id}' is not a sequence number of this batch");
            }

            if (lowest is null || SequenceNumbers.Compare(id, lowest) < 0)
            {
                lowest = id;
            }
        }

        return new BatchVerdict(BatchVerdictKind.PartialFailure, lowest, $"{failedIdentifiers.Count} record(s) reported failed, the lowest {lowest}");
    }

    /// <summary>
    /// Decides what to do after a failed invocation. <paramref name="retriesSoFar"/> counts retries already made
    /// (bisections are not retries). Record age is checked first: a batch whose oldest record is older than
    /// <paramref name="maximumRecordAge"/> is discarded. Then, with <paramref name="bisect"/> and more than one record,
    /// the batch is split. Otherwise it is retried until <paramref name="maximumRetryAttempts"/> (-1: forever).
    /// </summary>
    public static FailedBatchDecision OnFailure(
        int retriesSoFar,
        int recordCount,
        TimeSpan oldestRecordAge,
        int maximumRetryAttempts,
        TimeSpan? maximumRecordAge,
        bool bisect)
    {
        if (maximumRecordAge is { } maxAge && oldestRecordAge > maxAge)
        {
            return new FailedBatchDecision(FailedBatchAction.Discard, FailedBatchDecision.RecordAgeExceeded);
        }

        if (bisect && recordCount > 1)
        {
            return new FailedBatchDecision(FailedBatchAction.Bisect, null);
        }

        if (maximumRetryAttempts >= 0 && retriesSoFar >= maximumRetryAttempts)
        {
            return new FailedBatchDecision(FailedBatchAction.Discard, FailedBatchDecision.RetryAttemptsExhausted);
        }

        return new FailedBatchDecision(FailedBatchAction.Retry, null);
    }

    /// <summary>Splits a batch in two halves (the first half gets the extra record), keeping shard order.</summary>
    public static (IReadOnlyList<T> First, IReadOnlyList<T> Second) Bisect<T>(IReadOnlyList<T> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count < 2)
        {
            throw new ArgumentException($"a batch of {batch.Count} record(s) cannot be bisected", nameof(batch));
        }

        int half = (batch.Count + 1) / 2;
        return ([.. batch.Take(half)], [.. batch.Skip(half)]);
    }
}
