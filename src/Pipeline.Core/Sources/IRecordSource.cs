using Pipeline.Core.Records;

namespace Pipeline.Core.Sources;

/// <summary>
/// The poller's seam onto a queue or stream (the embedded queue, SQS, Kinesis shards). A source receives records
/// and owns their acknowledgement; the function never talks to it.
/// </summary>
public interface IRecordSource
{
    /// <summary>Identity used in logs and idempotency records (queue URL/ARN, stream ARN, embedded queue name).</summary>
    string Name { get; }

    /// <summary>
    /// Receives up to <paramref name="maxRecords"/> records, waiting (long poll) up to the source's wait time when
    /// none are available. Returns an empty list when the wait ends without records.
    /// </summary>
    ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken);

    /// <summary>Acknowledges outcomes back to this source.</summary>
    IBatchAcknowledger Acknowledger { get; }
}

/// <summary>
/// Applies per-item outcomes to the source. For SQS: delete what succeeded, change the visibility of what failed
/// (backoff by receive count). For Kinesis: move the checkpoint.
/// </summary>
public interface IBatchAcknowledger
{
    /// <summary>How long a received record stays invisible/leased; the invoker keeps in-process retries below it.</summary>
    TimeSpan VisibilityTimeout { get; }

    ValueTask AcknowledgeAsync(IReadOnlyList<Invocation.ItemResult> results, CancellationToken cancellationToken);

    /// <summary>Extends the visibility of records still being worked on (the visibility heartbeat).</summary>
    ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken);

    /// <summary>Gives records back unstarted (shutdown): they become visible again at once.</summary>
    ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken);
}
