using Pipeline.Core.Records;

namespace Pipeline.Core.Batching;

/// <summary>Why a batcher cut a batch when it did.</summary>
public enum BatchCutReason
{
    /// <summary>BatchSize records were gathered.</summary>
    BatchSizeReached,

    /// <summary>The next record would have taken the payload past the cap.</summary>
    PayloadCapReached,

    /// <summary>MaximumBatchingWindowInSeconds elapsed since the batch's first record.</summary>
    WindowElapsed,

    /// <summary>No batching window: the batch holds what was available at once.</summary>
    NoWindow,

    /// <summary>The lane was asked to flush (its keys are about to move) or its input ended.</summary>
    Flushed,
}

/// <summary>Records of one lane, cut for one invocation.</summary>
public sealed class Batch
{
    public Batch(int laneId, IReadOnlyList<DecodedRecord> items, long payloadBytes, BatchCutReason cutReason)
    {
        LaneId = laneId;
        Items = items;
        PayloadBytes = payloadBytes;
        CutReason = cutReason;
    }

    public int LaneId { get; }

    public IReadOnlyList<DecodedRecord> Items { get; }

    public long PayloadBytes { get; }

    public BatchCutReason CutReason { get; }

    public int Count => Items.Count;
}
