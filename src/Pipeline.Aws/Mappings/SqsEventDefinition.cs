using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;

namespace Pipeline.Aws.Mappings;

/// <summary>A <c>Type: SQS</c> event: its properties validated against ESM-SEMANTICS.md, AWS defaults applied.</summary>
public sealed class SqsEventDefinition : EventDefinition
{
    public const int DefaultBatchSize = 10;

    internal SqsEventDefinition(string name, ResourceReference queue, int batchSize, int windowSeconds, bool reportBatchItemFailures, int? maximumConcurrency, FilterCriteriaDefinition filterCriteria, bool enabled)
        : base(name, batchSize, windowSeconds, reportBatchItemFailures, filterCriteria, enabled)
    {
        Queue = queue;
        MaximumConcurrency = maximumConcurrency;
    }

    public override string Type => "SQS";

    /// <summary><c>Queue</c>: a name (gets the provision prefix), a queue URL, an SQS ARN, or <c>!GetAtt Id.Arn</c>.</summary>
    public ResourceReference Queue { get; }

    /// <summary>True when the queue is FIFO (its name ends in <c>.fifo</c>): BatchSize 1–10, no batching window, order per message group.</summary>
    public bool IsFifo => Queue.IsFifo;

    /// <summary><c>ScalingConfig.MaximumConcurrency</c>, 2–1,000; null when not set.</summary>
    public int? MaximumConcurrency { get; }

    /// <summary>The batcher's options (same rules, checked again by <see cref="BatchingOptions.ForSqs"/>).</summary>
    public BatchingOptions ToBatchingOptions() => BatchingOptions.ForSqs(BatchSize, MaximumBatchingWindowInSeconds, IsFifo);

    /// <summary>
    /// Mapping options for the engine: batching from this definition, concurrency from MaximumConcurrency (else
    /// <paramref name="baseOptions"/>'s), lanes keyed by message group for FIFO and by job key otherwise, and FIFO's
    /// stop-at-first-failure.
    /// </summary>
    public MappingOptions ToMappingOptions(MappingOptions? baseOptions = null)
    {
        MappingOptions start = baseOptions ?? new MappingOptions();
        InvokerOptions invoker = IsFifo ? start.Invoker with { StopOnFirstFailure = true } : start.Invoker;
        return (start with
        {
            Batching = ToBatchingOptions(),
            Concurrency = MaximumConcurrency ?? start.Concurrency,
            LaneKey = IsFifo ? LaneKeySource.PartitionKey : LaneKeySource.JobKey,
            Invoker = invoker,
        }).Validate();
    }
}
