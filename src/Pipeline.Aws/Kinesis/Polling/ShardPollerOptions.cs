using Pipeline.Core.Sources.Streams;

namespace Pipeline.Aws.Kinesis.Polling;

/// <summary>Where a shard is read from when no checkpoint exists (the ESM's StartingPosition).</summary>
public enum StartingPosition
{
    /// <summary>The oldest record still retained.</summary>
    TrimHorizon,

    /// <summary>Only records put after the iterator is taken.</summary>
    Latest,

    /// <summary>The first record at or after <see cref="ShardPollerOptions.StartingPositionTimestamp"/>.</summary>
    AtTimestamp,
}

/// <summary>Settings of one <see cref="ShardPoller"/>; immutable, checked by <see cref="Validate"/>.</summary>
public sealed record ShardPollerOptions
{
    /// <summary>AWS's per-shard GetRecords limit: more calls per second are only throttled.</summary>
    public const int MaxGetRecordsCallsPerSecondLimit = 5;

    /// <summary>The stream to read; required.</summary>
    public required string StreamName { get; init; }

    /// <summary>The stream's ARN, used as each record's <c>Source</c> (eventSourceARN); default null = <see cref="StreamName"/>.</summary>
    public string? StreamArn { get; init; }

    /// <summary>The one shard this poller reads; required.</summary>
    public required string ShardId { get; init; }

    /// <summary>Where to start without a <see cref="Checkpoint"/>; default TRIM_HORIZON.</summary>
    public StartingPosition StartingPosition { get; init; } = StartingPosition.TrimHorizon;

    /// <summary>Required with <see cref="StartingPosition.AtTimestamp"/>, refused otherwise.</summary>
    public DateTimeOffset? StartingPositionTimestamp { get; init; }

    /// <summary>
    /// The last sequence number already processed: reading resumes AFTER_SEQUENCE_NUMBER it, and it takes precedence
    /// over <see cref="StartingPosition"/>. Default null (no checkpoint).
    /// </summary>
    public string? Checkpoint { get; init; }

    /// <summary>GetRecords Limit (the ESM's BatchSize); default 100, 1 to 10,000.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>The base rate: time between the starts of two calls while caught up; default 1 s, 1 ms to 5 min.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on GetRecords calls in any 1 s window, catch-up included; default 5 (AWS's limit), 1 to 5.</summary>
    public int MaxCallsPerSecond { get; init; } = MaxGetRecordsCallsPerSecondLimit;

    /// <summary>First backoff after a throttled or transient failure; doubles per failure in a row. Default 200 ms, 1 ms to 1 min.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Bound of the backoff (before jitter); default 10 s, at least <see cref="RetryBaseDelay"/>, at most 5 min.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The record's <c>Source</c>: the stream ARN when known, else its name.</summary>
    public string SourceIdentity => StreamArn ?? StreamName;

    /// <summary>Returns these options, or throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public ShardPollerOptions Validate()
    {
        Require(!string.IsNullOrWhiteSpace(StreamName), nameof(StreamName), "must be a stream name, got an empty one");
        Require(StreamArn is null || !string.IsNullOrWhiteSpace(StreamArn), nameof(StreamArn), "must be null or an ARN, got an empty string");
        Require(!string.IsNullOrWhiteSpace(ShardId), nameof(ShardId), "must be a shard id, got an empty one");
        Require(Enum.IsDefined(StartingPosition), nameof(StartingPosition), $"must be TrimHorizon, Latest or AtTimestamp, got {(int)StartingPosition}");
        if (StartingPosition == StartingPosition.AtTimestamp)
        {
            Require(StartingPositionTimestamp is not null, nameof(StartingPositionTimestamp), "is required with StartingPosition AtTimestamp");
        }
        else
        {
            Require(StartingPositionTimestamp is null, nameof(StartingPositionTimestamp), $"is only used with StartingPosition AtTimestamp, but StartingPosition is {StartingPosition}");
        }

        Require(Checkpoint is null || SequenceNumbers.IsValid(Checkpoint), nameof(Checkpoint), $"must be a sequence number (decimal digits), got '{Checkpoint}'");
        Require(BatchSize is >= 1 and <= 10_000, nameof(BatchSize), $"must be 1 to 10,000, got {BatchSize}");
        Require(PollInterval >= TimeSpan.FromMilliseconds(1) && PollInterval <= TimeSpan.FromMinutes(5), nameof(PollInterval), $"must be 1 ms to 5 minutes, got {PollInterval}");
        Require(MaxCallsPerSecond is >= 1 and <= MaxGetRecordsCallsPerSecondLimit, nameof(MaxCallsPerSecond), $"must be 1 to {MaxGetRecordsCallsPerSecondLimit}, got {MaxCallsPerSecond}");
        Require(RetryBaseDelay >= TimeSpan.FromMilliseconds(1) && RetryBaseDelay <= TimeSpan.FromMinutes(1), nameof(RetryBaseDelay), $"must be 1 ms to 1 minute, got {RetryBaseDelay}");
        Require(RetryMaxDelay >= RetryBaseDelay && RetryMaxDelay <= TimeSpan.FromMinutes(5), nameof(RetryMaxDelay), $"must be {nameof(RetryBaseDelay)} ({RetryBaseDelay}) to 5 minutes, got {RetryMaxDelay}");
        return this;
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {problem}.", name);
        }
    }
}
