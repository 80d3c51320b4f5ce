namespace Pipeline.Core.Scaling;

/// <summary>
/// How a mapping scales its concurrent batches (lanes) the way Lambda's SQS event source mapping does for a
/// standard queue: start at <see cref="InitialConcurrency"/>, add lanes while batches come back full and records
/// wait (at most <see cref="MaxIncreasePerMinute"/> a minute), never past <see cref="MaximumConcurrency"/>
/// (ScalingConfig.MaximumConcurrency), and fall back to <see cref="MinimumConcurrency"/> once idle for
/// <see cref="IdleBeforeScaleDown"/>. Immutable; <see cref="Validate"/> names the property that is wrong.
/// </summary>
public sealed record ScalingOptions
{
    /// <summary>Off by default: the mapping keeps its fixed Concurrency.</summary>
    public bool Enabled { get; init; }

    /// <summary>Lanes at start (AWS: 5 concurrent batches); capped at <see cref="MaximumConcurrency"/>.</summary>
    public int InitialConcurrency { get; init; } = 5;

    /// <summary>Lanes kept when idle (AWS falls back to 2–5); 1–<see cref="MaximumConcurrency"/>, default 2.</summary>
    public int MinimumConcurrency { get; init; } = 2;

    /// <summary>ScalingConfig.MaximumConcurrency: 2–1,000 (AWS's range), default 1,000.</summary>
    public int MaximumConcurrency { get; init; } = 1000;

    /// <summary>Most lanes added within any 60 s (AWS: up to 300 concurrent invokes per minute); 1–1,000, default 300.</summary>
    public int MaxIncreasePerMinute { get; init; } = 300;

    /// <summary>
    /// How often signals are read and a target decided; 10 ms–5 min, default 10 s: six looks a minute lets growth
    /// follow a backlog within seconds while the per-minute limit, not the period, bounds the rate.
    /// </summary>
    public TimeSpan EvaluationPeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long nothing must arrive or be in flight before shrinking to the minimum; 0–1 h, default 60 s.</summary>
    public TimeSpan IdleBeforeScaleDown { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The lane count at start: <see cref="InitialConcurrency"/> within the minimum and maximum.</summary>
    public int EffectiveInitialConcurrency => Math.Clamp(InitialConcurrency, MinimumConcurrency, MaximumConcurrency);

    public ScalingOptions Validate()
    {
        if (MaximumConcurrency < 2 || MaximumConcurrency > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumConcurrency), MaximumConcurrency,
                $"ScalingConfig.MaximumConcurrency must be between 2 and 1,000 (got {MaximumConcurrency}).");
        }

        if (MinimumConcurrency < 1 || MinimumConcurrency > MaximumConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumConcurrency), MinimumConcurrency,
                $"MinimumConcurrency must be between 1 and MaximumConcurrency ({MaximumConcurrency}) (got {MinimumConcurrency}).");
        }

        if (InitialConcurrency < 1 || InitialConcurrency > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialConcurrency), InitialConcurrency,
                $"InitialConcurrency must be between 1 and 1,000 (got {InitialConcurrency}).");
        }

        if (MaxIncreasePerMinute < 1 || MaxIncreasePerMinute > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIncreasePerMinute), MaxIncreasePerMinute,
                $"MaxIncreasePerMinute must be between 1 and 1,000 (got {MaxIncreasePerMinute}).");
        }

        if (EvaluationPeriod < TimeSpan.FromMilliseconds(10) || EvaluationPeriod > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(EvaluationPeriod), EvaluationPeriod,
                $"EvaluationPeriod must be between 10 ms and 5 min (got {EvaluationPeriod}).");
        }

        if (IdleBeforeScaleDown < TimeSpan.Zero || IdleBeforeScaleDown > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(IdleBeforeScaleDown), IdleBeforeScaleDown,
                $"IdleBeforeScaleDown must be between 0 and 1 h (got {IdleBeforeScaleDown}).");
        }

        return this;
    }
}
