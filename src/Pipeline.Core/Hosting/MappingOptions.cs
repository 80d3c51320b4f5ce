using Pipeline.Core.Batching;
using Pipeline.Core.Filtering;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;
using Pipeline.Core.Scaling;

namespace Pipeline.Core.Hosting;

/// <summary>
/// One mapping's settings: how to batch (AWS names), how to invoke, how many lanes, and which key picks a lane.
/// Immutable; <see cref="Validate"/> names the property that is wrong.
/// </summary>
public sealed record MappingOptions
{
    /// <summary>Names the mapping in logs and in the metrics' <c>mapping</c> tag; default: the source's name.</summary>
    public string? Name { get; init; }

    public BatchingOptions Batching { get; init; } = BatchingOptions.ForSqs();

    public InvokerOptions Invoker { get; init; } = InvokerOptions.Default;

    /// <summary>
    /// Concurrent lanes (SQS MaximumConcurrency, Kinesis ParallelizationFactor x shards); 1–1,000, default 5. With
    /// <see cref="Scaling"/> enabled the controller owns the lane count and this is not used.
    /// </summary>
    public int Concurrency { get; init; } = 5;

    /// <summary>FilterCriteria: records that match no filter are deleted without invoking. Null: every record passes.</summary>
    public FilterCriteria? Filter { get; init; }

    /// <summary>Scales the lanes as the SQS event source mapping does (off by default: fixed <see cref="Concurrency"/>).</summary>
    public ScalingOptions Scaling { get; init; } = new();

    public LaneKeySource LaneKey { get; init; } = LaneKeySource.JobKey;

    /// <summary>Records a lane buffers ahead of its batcher; default twice the batch size (at least 16, at most 10,000).</summary>
    public int? LaneCapacity { get; init; }

    /// <summary>Records buffered between the poller and the router (default 100).</summary>
    public int PollBufferCapacity { get; init; } = 100;

    /// <summary>Records asked for per receive call (SQS allows 1–10; default 10).</summary>
    public int MaxRecordsPerPoll { get; init; } = 10;

    public int EffectiveLaneCapacity => LaneCapacity ?? Math.Clamp(Batching.BatchSize * 2, 16, 10_000);

    public MappingOptions Validate()
    {
        if (Name is not null && string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException("Name must not be blank (leave it null to use the source's name).", nameof(Name));
        }

        if (Scaling.Enabled)
        {
            Scaling.Validate();
        }

        if (Concurrency < 1 || Concurrency > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(Concurrency), Concurrency, $"Concurrency must be between 1 and 1,000 (got {Concurrency}).");
        }

        if (LaneCapacity is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(LaneCapacity), LaneCapacity, $"LaneCapacity must be between 1 and 100,000 (got {LaneCapacity}).");
        }

        if (PollBufferCapacity < 1 || PollBufferCapacity > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(PollBufferCapacity), PollBufferCapacity, $"PollBufferCapacity must be between 1 and 100,000 (got {PollBufferCapacity}).");
        }

        if (MaxRecordsPerPoll < 1 || MaxRecordsPerPoll > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRecordsPerPoll), MaxRecordsPerPoll, $"MaxRecordsPerPoll must be between 1 and 10,000 (got {MaxRecordsPerPoll}).");
        }

        return this;
    }
}
