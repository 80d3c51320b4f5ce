using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Core.Batching;
using Pipeline.Core.Filtering;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Streams;

namespace Pipeline.Aws.Kinesis.Mapping;

/// <summary>
/// Settings of one <see cref="KinesisEventSourceMapping"/>; immutable, checked by <see cref="Validate"/>. Defaults are
/// the ESM's (ESM-SEMANTICS.md); the periods (checkpoint, shard sync, poll) are here so tests can run in seconds.
/// </summary>
public sealed record KinesisMappingOptions
{
    /// <summary>The stream to read; required.</summary>
    public required string StreamName { get; init; }

    /// <summary>The mapping's name in logs and metrics; default null = the stream name.</summary>
    public string? Name { get; init; }

    /// <summary>ParallelizationFactor: concurrent batches (lanes) per shard, 1 to 10; default 1.</summary>
    public int ParallelizationFactor { get; init; } = 1;

    /// <summary>BatchSize, MaximumBatchingWindowInSeconds and the 6 MB payload cap; default 100 records, no window.</summary>
    public BatchingOptions Batching { get; init; } = BatchingOptions.ForKinesis();

    /// <summary>Where a shard without a checkpoint starts; default TRIM_HORIZON. Child shards always start at TRIM_HORIZON.</summary>
    public StartingPosition StartingPosition { get; init; } = StartingPosition.TrimHorizon;

    /// <summary>Required with <see cref="StartingPosition.AtTimestamp"/>.</summary>
    public DateTimeOffset? StartingPositionTimestamp { get; init; }

    /// <summary>ReportBatchItemFailures, bisect, retries, record age.</summary>
    public StreamFailureOptions Failure { get; init; } = StreamFailureOptions.Default;

    /// <summary>
    /// How each record runs inside a batch. StopOnFirstFailure is forced on (the rest of a failed lane's batch is not
    /// started, so a key's later records never overtake an earlier failed one).
    /// </summary>
    public InvokerOptions Invoker { get; init; } = InvokerOptions.Default;

    /// <summary>FilterCriteria on the record's <c>data</c> (decoded JSON); filtered records are checkpointed past unseen.</summary>
    public FilterCriteria? Filter { get; init; }

    /// <summary>The longest a finished record waits before its checkpoint is written; default 1 s (it is also written at every batch end).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the shard list is read for new shards (resharding); default 10 s. A shard end triggers a read at once.</summary>
    public TimeSpan ShardSyncInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>GetRecords base rate per shard while caught up; default 1 s.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>GetRecords calls per shard per second, catch-up included; default 5 (AWS's limit).</summary>
    public int MaxGetRecordsCallsPerSecond { get; init; } = ShardPollerOptions.MaxGetRecordsCallsPerSecondLimit;

    /// <summary>GetRecords answers a shard may hold ahead of its lanes; default 2.</summary>
    public int ShardBufferBatches { get; init; } = 2;

    /// <summary>The function's name or ARN, as the on-failure record's <c>functionArn</c>; default "bgpipe".</summary>
    public string FunctionName { get; init; } = "bgpipe";

    /// <summary>The invoker options in effect: <see cref="Invoker"/> with StopOnFirstFailure on.</summary>
    public InvokerOptions EffectiveInvoker => Invoker with { StopOnFirstFailure = true };

    /// <summary>Returns these options, or throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public KinesisMappingOptions Validate()
    {
        Require(!string.IsNullOrWhiteSpace(StreamName), nameof(StreamName), "must be a stream name, got an empty one");
        Require(Name is null || !string.IsNullOrWhiteSpace(Name), nameof(Name), "must be null or a name, got an empty one");
        Require(ParallelizationFactor is >= 1 and <= 10, nameof(ParallelizationFactor), $"must be 1 to 10, got {ParallelizationFactor}");
        ArgumentNullException.ThrowIfNull(Batching);
        Require(Enum.IsDefined(StartingPosition), nameof(StartingPosition), $"must be TrimHorizon, Latest or AtTimestamp, got {(int)StartingPosition}");
        Require((StartingPosition == StartingPosition.AtTimestamp) == StartingPositionTimestamp.HasValue, nameof(StartingPositionTimestamp),
            "must be given with StartingPosition AtTimestamp, and only then");
        Failure.Validate();
        EffectiveInvoker.Validate(TimeSpan.Zero);
        Require(CheckpointInterval >= TimeSpan.FromMilliseconds(10) && CheckpointInterval <= TimeSpan.FromMinutes(1), nameof(CheckpointInterval), $"must be 10 ms to 1 minute, got {CheckpointInterval}");
        Require(ShardSyncInterval >= TimeSpan.FromMilliseconds(100) && ShardSyncInterval <= TimeSpan.FromHours(1), nameof(ShardSyncInterval), $"must be 100 ms to 1 hour, got {ShardSyncInterval}");
        Require(ShardBufferBatches is >= 1 and <= 100, nameof(ShardBufferBatches), $"must be 1 to 100, got {ShardBufferBatches}");
        Require(!string.IsNullOrWhiteSpace(FunctionName), nameof(FunctionName), "must be a function name or ARN, got an empty one");
        _ = PollerOptions("shardId-000000000000", null);
        return this;
    }

    /// <summary>The poller options of one shard, starting after <paramref name="checkpoint"/> when there is one.</summary>
    internal ShardPollerOptions PollerOptions(string shardId, string? checkpoint, string? streamArn = null, StartingPosition? position = null) => new ShardPollerOptions
    {
        StreamName = StreamName,
        StreamArn = streamArn,
        ShardId = shardId,
        Checkpoint = checkpoint,
        StartingPosition = position ?? StartingPosition,
        StartingPositionTimestamp = (position ?? StartingPosition) == StartingPosition.AtTimestamp ? StartingPositionTimestamp : null,
        BatchSize = Batching.BatchSize,
        PollInterval = PollInterval,
        MaxCallsPerSecond = MaxGetRecordsCallsPerSecond,
    }.Validate();

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {problem}.", name);
        }
    }
}
