namespace Pipeline.Core.Sources.Streams;

/// <summary>
/// How a stream mapping handles a failed batch (AWS docs: services-kinesis-parameters, services-kinesis-batchfailurereporting).
/// Immutable; <see cref="Validate"/> checks the ranges of ESM-SEMANTICS.md.
/// </summary>
public sealed record StreamFailureOptions
{
    /// <summary>FunctionResponseTypes ReportBatchItemFailures: retry from the lowest failed record, not the whole batch. Default false.</summary>
    public bool ReportBatchItemFailures { get; init; }

    /// <summary>BisectBatchOnFunctionError: split a failed batch in two and retry each half. Default false.</summary>
    public bool BisectBatchOnFunctionError { get; init; }

    /// <summary>MaximumRetryAttempts: -1 (the default) retries until the record expires; 0 to 10,000 otherwise.</summary>
    public int MaximumRetryAttempts { get; init; } = -1;

    /// <summary>
    /// MaximumRecordAgeInSeconds: a failed batch whose oldest record is older than this is discarded. Null (the default,
    /// AWS's -1) never discards for age. The mapping file allows 60 s to 7 days; the library allows shorter ages for tests.
    /// </summary>
    public TimeSpan? MaximumRecordAge { get; init; }

    /// <summary>The wait before the first retry of a failed batch; doubles per retry with jitter. Default 500 ms.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Cap on the wait between retries of a batch. Default 30 s.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    public static StreamFailureOptions Default { get; } = new();

    /// <summary>Returns these options, or throws <see cref="ArgumentOutOfRangeException"/> naming the bad setting.</summary>
    public StreamFailureOptions Validate()
    {
        if (MaximumRetryAttempts is < -1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumRetryAttempts), MaximumRetryAttempts, $"MaximumRetryAttempts must be -1 (infinite) or 0 to 10,000 (got {MaximumRetryAttempts}).");
        }

        if (MaximumRecordAge is { } age && (age <= TimeSpan.Zero || age > TimeSpan.FromDays(7)))
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumRecordAge), age, $"MaximumRecordAge must be null (infinite) or above zero and at most 7 days (got {age}).");
        }

        if (RetryBaseDelay <= TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(RetryBaseDelay), RetryBaseDelay, $"RetryBaseDelay must be above zero and at most 5 minutes (got {RetryBaseDelay}).");
        }

        if (RetryMaxDelay < RetryBaseDelay || RetryMaxDelay > TimeSpan.FromMinutes(15))
        {
            throw new ArgumentOutOfRangeException(nameof(RetryMaxDelay), RetryMaxDelay, $"RetryMaxDelay must be between RetryBaseDelay ({RetryBaseDelay}) and 15 minutes (got {RetryMaxDelay}).");
        }

        return this;
    }
}
