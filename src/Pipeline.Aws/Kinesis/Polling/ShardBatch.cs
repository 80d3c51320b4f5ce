using Pipeline.Core.Records;

namespace Pipeline.Aws.Kinesis.Polling;

/// <summary>
/// The records of one GetRecords call, in shard order (never empty). <see cref="LastSequenceNumber"/> is the iterator
/// position after this batch: the checkpoint to store once every record of it (and before it) is processed.
/// </summary>
public sealed record ShardBatch(
    string ShardId,
    IReadOnlyList<SourceRecord> Records,
    long MillisBehindLatest,
    string FirstSequenceNumber,
    string LastSequenceNumber);

/// <summary>How <see cref="ShardPoller.RunAsync"/> ended.</summary>
public abstract record ShardPollResult(string ShardId, string? LastSequenceNumber);

/// <summary>
/// SHARD_END: the closed shard is read to its end. Its children may be read now (their parents are done). The channel
/// writer is left open: its owner decides when it completes.
/// </summary>
public sealed record ShardEnded(string ShardId, string? LastSequenceNumber, IReadOnlyList<string> ChildShardIds)
    : ShardPollResult(ShardId, LastSequenceNumber);

/// <summary>Stopped before the shard's end: cancelled, or the channel was completed by its owner.</summary>
public sealed record ShardPollStopped(string ShardId, string? LastSequenceNumber, ShardPollStopReason Reason)
    : ShardPollResult(ShardId, LastSequenceNumber);

public enum ShardPollStopReason
{
    /// <summary>The token given to RunAsync was cancelled (shutdown, or the lease was lost).</summary>
    Cancelled,

    /// <summary>The output channel no longer takes batches.</summary>
    ChannelCompleted,
}
