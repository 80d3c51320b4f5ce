using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;

namespace Pipeline.Aws.Mappings;

/// <summary>Kinesis <c>StartingPosition</c>.</summary>
public enum StartingPosition
{
    TrimHorizon,
    Latest,
    AtTimestamp,
}

/// <summary>Where <c>DestinationConfig.OnFailure</c> sends the record of a discarded batch.</summary>
public sealed class OnFailureDestination
{
    internal OnFailureDestination(ResourceReference destination, string? type)
    {
        Destination = destination;
        Type = type;
    }

    /// <summary><c>Destination</c>: an SQS/SNS/S3 ARN, a queue name (gets the provision prefix), or <c>!GetAtt Id.Arn</c>.</summary>
    public ResourceReference Destination { get; }

    /// <summary>SAM's optional <c>Type</c> (SQS, SNS or S3); null when not given.</summary>
    public string? Type { get; }
}

/// <summary>A <c>Type: Kinesis</c> event: its properties validated against ESM-SEMANTICS.md, AWS defaults applied.</summary>
public sealed class KinesisEventDefinition : EventDefinition
{
    public const int DefaultBatchSize = 100;

    internal KinesisEventDefinition(string name, ResourceReference stream, KinesisSettings s, FilterCriteriaDefinition filterCriteria)
        : base(name, s.BatchSize, s.WindowSeconds, s.ReportBatchItemFailures, filterCriteria, s.Enabled)
    {
        Stream = stream;
        StartingPosition = s.StartingPosition;
        StartingPositionTimestamp = s.StartingPositionTimestamp;
        ParallelizationFactor = s.ParallelizationFactor;
        BisectBatchOnFunctionError = s.BisectBatchOnFunctionError;
        MaximumRetryAttempts = s.MaximumRetryAttempts;
        MaximumRecordAgeInSeconds = s.MaximumRecordAgeInSeconds;
        OnFailure = s.OnFailure;
        TumblingWindowInSeconds = s.TumblingWindowInSeconds;
    }

    public override string Type => "Kinesis";

    /// <summary><c>Stream</c>: a name (gets the provision prefix), a Kinesis stream ARN, or <c>!GetAtt Id.Arn</c>.</summary>
    public ResourceReference Stream { get; }

    public StartingPosition StartingPosition { get; }

    /// <summary>Required with AT_TIMESTAMP (SAM gives Unix seconds); null otherwise.</summary>
    public DateTimeOffset? StartingPositionTimestamp { get; }

    /// <summary>1–10 concurrent batches per shard (default 1); order per partition key is kept.</summary>
    public int ParallelizationFactor { get; }

    public bool BisectBatchOnFunctionError { get; }

    /// <summary>-1 (infinite, the default) to 10,000.</summary>
    public int MaximumRetryAttempts { get; }

    /// <summary>-1 (infinite, the default) or 60–604,800.</summary>
    public int MaximumRecordAgeInSeconds { get; }

    public OnFailureDestination? OnFailure { get; }

    /// <summary>0–900; null when not set.</summary>
    public int? TumblingWindowInSeconds { get; }

    public BatchingOptions ToBatchingOptions() => BatchingOptions.ForKinesis(BatchSize, MaximumBatchingWindowInSeconds);

    /// <summary>
    /// Mapping options for the engine: batching from this definition, ParallelizationFactor x <paramref name="shardCount"/>
    /// lanes (at most 1,000) keyed by partition key, and stop-at-first-failure so order per key holds.
    /// </summary>
    public MappingOptions ToMappingOptions(int shardCount, MappingOptions? baseOptions = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        MappingOptions start = baseOptions ?? new MappingOptions();
        return (start with
        {
            Batching = ToBatchingOptions(),
            Concurrency = Math.Min(1000, ParallelizationFactor * shardCount),
            LaneKey = LaneKeySource.PartitionKey,
            Invoker = start.Invoker with { StopOnFirstFailure = true },
        }).Validate();
    }
}

/// <summary>The parsed Kinesis settings, gathered before construction (keeps the constructor short).</summary>
internal sealed record KinesisSettings(
    StartingPosition StartingPosition,
    DateTimeOffset? StartingPositionTimestamp,
    int BatchSize,
    int WindowSeconds,
    int ParallelizationFactor,
    bool BisectBatchOnFunctionError,
    int MaximumRetryAttempts,
    int MaximumRecordAgeInSeconds,
    OnFailureDestination? OnFailure,
    bool ReportBatchItemFailures,
    int? TumblingWindowInSeconds,
    bool Enabled);
