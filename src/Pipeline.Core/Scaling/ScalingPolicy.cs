using System.Collections.Immutable;

namespace Pipeline.Core.Scaling;

/// <summary>What the policy remembers between evaluations.</summary>
/// <param name="Current">Lanes now (the last target).</param>
/// <param name="IdleSince">When the mapping last became idle; null while busy.</param>
/// <param name="Increases">Lanes added within the last minute, with when (for the per-minute limit).</param>
public sealed record ScalingState(int Current, DateTimeOffset? IdleSince, ImmutableQueue<(DateTimeOffset At, int Added)> Increases)
{
    public static ScalingState Start(int lanes) => new(lanes, null, []);
}

/// <summary>Why a decision came out as it did (for logs and tests).</summary>
public enum ScalingReason
{
    /// <summary>Nothing calls for a change.</summary>
    Steady,

    /// <summary>Batches came back full while records waited: lanes added.</summary>
    Backlog,

    /// <summary>A backlog, but the per-minute increase is used up.</summary>
    RateLimited,

    /// <summary>A backlog, but the lanes are at MaximumConcurrency.</summary>
    AtMaximum,

    /// <summary>Idle long enough: back to the minimum.</summary>
    Idle,

    /// <summary>The lane count was outside the minimum and maximum: brought back within.</summary>
    OutOfBounds,
}

public readonly record struct ScalingDecision(int Target, ScalingReason Reason, ScalingState Next);

/// <summary>
/// The scaling rules as a pure function of the state, one period's signals and the time, so they are testable
/// without a mapping or a clock.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Backlog: at least one batch came back full (by BatchSize) and records are waiting for a lane → add lanes:
/// as many as there are now (doubling), within what is left of <see cref="ScalingOptions.MaxIncreasePerMinute"/> over
/// the last 60 s, and never past the maximum.</item>
/// <item>Idle: no records arrived, none in flight, none waiting, for <see cref="ScalingOptions.IdleBeforeScaleDown"/>
/// → the minimum.</item>
/// <item>Anything else (traffic the lanes keep up with) → no change.</item>
/// </list>
/// </remarks>
public sealed class ScalingPolicy
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly ScalingOptions _options;

    public ScalingPolicy(ScalingOptions options) => _options = options.Validate();

    public ScalingDecision Decide(ScalingState state, ScalingSignals period, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ImmutableQueue<(DateTimeOffset At, int Added)> increases = state.Increases;
        while (!increases.IsEmpty && now - increases.Peek().At >= Minute)
        {
            increases = increases.Dequeue();
        }

        bool idle = !period.RecordsArrived && period.InFlight == 0 && period.Buffered == 0;
        DateTimeOffset? idleSince = idle ? state.IdleSince ?? now : null;
        int current = state.Current;

        if (current < _options.MinimumConcurrency || current > _options.MaximumConcurrency)
        {
            int bounded = Math.Clamp(current, _options.MinimumConcurrency, _options.MaximumConcurrency);
            return new(bounded, ScalingReason.OutOfBounds, state with { Current = bounded, IdleSince = idleSince, Increases = increases });
        }

        bool backlog = period.FullBatches > 0 && period.Buffered > 0;
        if (backlog)
        {
            if (current >= _options.MaximumConcurrency)
            {
                return new(current, ScalingReason.AtMaximum, state with { IdleSince = null, Increases = increases });
            }

            int used = 0;
            foreach ((DateTimeOffset _, int added) in increases)
            {
                used += added;
            }

            int step = Math.Min(Math.Min(current, _options.MaxIncreasePerMinute - used), _options.MaximumConcurrency - current);
            if (step <= 0)
            {
                return new(current, ScalingReason.RateLimited, state with { IdleSince = null, Increases = increases });
            }

            int target = current + step;
            return new(target, ScalingReason.Backlog, new ScalingState(target, null, increases.Enqueue((now, step))));
        }

        if (idleSince is { } since && now - since >= _options.IdleBeforeScaleDown && current > _options.MinimumConcurrency)
        {
            int target = _options.MinimumConcurrency;
            return new(target, ScalingReason.Idle, new ScalingState(target, since, increases));
        }

        return new(current, ScalingReason.Steady, state with { IdleSince = idleSince, Increases = increases });
    }
}
