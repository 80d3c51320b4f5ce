namespace Pipeline.Lambda.Handlers;

/// <summary>
/// How close to Lambda's deadline a record may still start. The margin of an invocation is
/// <c>max(MinimumMargin, TimeoutFraction x (deadline - start of the invocation))</c>: a record that would start
/// with less time left than that is not started and is reported as a failure (with every later one), so Lambda never
/// kills the function halfway through a batch and loses the results of the records that did finish.
/// </summary>
public sealed record DeadlineOptions
{
    /// <summary>Default <see cref="MinimumMargin"/>: 2 s, enough for one small image plus the claim write.</summary>
    public static readonly TimeSpan DefaultMinimumMargin = TimeSpan.FromSeconds(2);

    /// <summary>Default <see cref="TimeoutFraction"/>: 10 % of the time the invocation had when it started.</summary>
    public const double DefaultTimeoutFraction = 0.1;

    /// <summary>The least time a record needs left to start (default 2 s; 0 to 15 min).</summary>
    public TimeSpan MinimumMargin { get; init; } = DefaultMinimumMargin;

    /// <summary>The share of the invocation's time kept in reserve (default 0.1; 0 to 0.9).</summary>
    public double TimeoutFraction { get; init; } = DefaultTimeoutFraction;

    public static DeadlineOptions Default { get; } = new();

    public DeadlineOptions Validate()
    {
        if (MinimumMargin < TimeSpan.Zero || MinimumMargin > TimeSpan.FromMinutes(15))
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumMargin), MinimumMargin, $"MinimumMargin must be between 0 and 15 minutes (Lambda's longest timeout), got {MinimumMargin}.");
        }

        if (double.IsNaN(TimeoutFraction) || TimeoutFraction < 0 || TimeoutFraction > 0.9)
        {
            throw new ArgumentOutOfRangeException(nameof(TimeoutFraction), TimeoutFraction, $"TimeoutFraction must be between 0 and 0.9, got {TimeoutFraction}.");
        }

        return this;
    }

    /// <summary>The margin for an invocation that had <paramref name="budget"/> when it started.</summary>
    public TimeSpan MarginFor(TimeSpan budget)
    {
        TimeSpan share = budget > TimeSpan.Zero ? budget * TimeoutFraction : TimeSpan.Zero;
        return share > MinimumMargin ? share : MinimumMargin;
    }
}
