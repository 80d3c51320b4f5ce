using Pipeline.Core.Records;

namespace Pipeline.Core.Sources.Streams;

/// <summary>
/// Records of one shard the mapping gave up on (retries exhausted, or too old), in shard order, with why and how
/// often they were invoked. The on-failure destination gets a description of them; the checkpoint then moves past.
/// </summary>
/// <param name="ShardId">The shard they came from.</param>
/// <param name="Records">The discarded records, never empty.</param>
/// <param name="Condition"><see cref="FailedBatchDecision.RetryAttemptsExhausted"/> or <see cref="FailedBatchDecision.RecordAgeExceeded"/>.</param>
/// <param name="InvokeCount">How many times the batch was invoked (the first attempt included).</param>
/// <param name="LastError">The last failure's reason, for logs and reports.</param>
/// <param name="PartialFailure">True when the last invocation returned batchItemFailures rather than failing as a whole.</param>
public sealed record DiscardedBatch(
    string ShardId,
    IReadOnlyList<SourceRecord> Records,
    string Condition,
    int InvokeCount,
    string? LastError,
    bool PartialFailure);

/// <summary>
/// Where discarded batches go (DestinationConfig.OnFailure). <see cref="DeliverAsync"/> returns once the description
/// is delivered; when it throws, the records are not checkpointed past, and the stream mapping tries again.
/// </summary>
public interface IDiscardedBatchSink
{
    ValueTask DeliverAsync(DiscardedBatch batch, CancellationToken cancellationToken);
}
