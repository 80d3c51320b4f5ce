using Pipeline.Core.Scaling;

namespace Pipeline.Core.Tests.Scaling;

public sealed class ScalingPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private static readonly ScalingSignals Backlog = new(Polls: 30, EmptyPolls: 0, FullPolls: 30, Batches: 20, FullBatches: 20, InFlight: 100, Buffered: 100);
    private static readonly ScalingSignals Keeping = new(Polls: 30, EmptyPolls: 10, FullPolls: 0, Batches: 20, FullBatches: 0, InFlight: 3, Buffered: 0);
    private static readonly ScalingSignals Idle = new(Polls: 30, EmptyPolls: 30, FullPolls: 0, Batches: 0, FullBatches: 0, InFlight: 0, Buffered: 0);

    private static ScalingOptions Options(int max = 1000, int perMinute = 300, int idleSeconds = 60) => new()
    {
        Enabled = true,
        MaximumConcurrency = max,
        MaxIncreasePerMinute = perMinute,
        IdleBeforeScaleDown = TimeSpan.FromSeconds(idleSeconds),
        EvaluationPeriod = Period,
    };

    /// <summary>Runs the policy once a period from <paramref name="start"/> and returns each target.</summary>
    private static List<int> Run(ScalingPolicy policy, ref ScalingState state, ScalingSignals signals, int periods, ref DateTimeOffset now)
    {
        var targets = new List<int>();
        for (int i = 0; i < periods; i++)
        {
            now += Period;
            ScalingDecision d = policy.Decide(state, signals, now);
            state = d.Next;
            targets.Add(d.Target);
        }

        return targets;
    }

    [Fact]
    public void Given_a_backlog_When_evaluated_each_period_Then_lanes_double_until_the_per_minute_increase_is_used()
    {
        var policy = new ScalingPolicy(Options());
        var state = ScalingState.Start(5);
        DateTimeOffset now = T0;

        List<int> targets = Run(policy, ref state, Backlog, 6, ref now);

        // 5 → 10 → 20 → 40 → 80 → 160 (+155), then only 145 more fit in the same minute: 305.
        Assert.Equal([10, 20, 40, 80, 160, 305], targets);
        ScalingDecision limited = policy.Decide(state, Backlog, now + TimeSpan.FromSeconds(5));
        Assert.Equal(ScalingReason.RateLimited, limited.Reason);
        Assert.Equal(305, limited.Target);
    }

    [Fact]
    public void Given_the_per_minute_increase_used_up_When_a_minute_passes_Then_growth_resumes_within_the_limit()
    {
        var policy = new ScalingPolicy(Options(perMinute: 12));
        var state = ScalingState.Start(5);
        DateTimeOffset now = T0;

        List<int> first = Run(policy, ref state, Backlog, 5, ref now);
        Assert.Equal([10, 17, 17, 17, 17], first); // +5, then +7 fills the 12 a minute

        // t=60 s: both increases are still within the minute; t=70 s: the +5 of t=10 s has aged out; t=80 s: the +7 too.
        List<int> later = Run(policy, ref state, Backlog, 3, ref now);
        Assert.Equal([17, 22, 29], later);
    }

    [Fact]
    public void Given_a_backlog_When_the_maximum_is_reached_Then_lanes_never_exceed_MaximumConcurrency()
    {
        var policy = new ScalingPolicy(Options(max: 12));
        var state = ScalingState.Start(5);
        DateTimeOffset now = T0;

        List<int> targets = Run(policy, ref state, Backlog, 4, ref now);

        Assert.Equal([10, 12, 12, 12], targets);
        Assert.Equal(ScalingReason.AtMaximum, policy.Decide(state, Backlog, now + Period).Reason);
    }

    [Fact]
    public void Given_full_batches_but_nothing_waiting_When_evaluated_Then_lanes_keep_up_and_do_not_grow()
    {
        var policy = new ScalingPolicy(Options());
        ScalingDecision d = policy.Decide(ScalingState.Start(5), Backlog with { Buffered = 0 }, T0);
        Assert.Equal(5, d.Target);
        Assert.Equal(ScalingReason.Steady, d.Reason);
    }

    [Fact]
    public void Given_steady_traffic_the_lanes_keep_up_with_When_evaluated_for_long_Then_nothing_changes()
    {
        var policy = new ScalingPolicy(Options(idleSeconds: 30));
        var state = ScalingState.Start(8);
        DateTimeOffset now = T0;

        List<int> targets = Run(policy, ref state, Keeping, 30, ref now);

        Assert.All(targets, t => Assert.Equal(8, t));
    }

    [Fact]
    public void Given_an_idle_mapping_When_idle_for_the_configured_period_Then_it_shrinks_to_the_minimum_and_not_before()
    {
        var policy = new ScalingPolicy(Options(idleSeconds: 30));
        var state = ScalingState.Start(40);
        DateTimeOffset now = T0;

        List<int> targets = Run(policy, ref state, Idle, 5, ref now);

        // Idle from the first look (t=10 s): 30 s later (t=40 s) it drops to 2, and stays there.
        Assert.Equal([40, 40, 40, 2, 2], targets);
    }

    [Fact]
    public void Given_idleness_broken_by_traffic_When_idle_again_Then_the_idle_period_starts_over()
    {
        var policy = new ScalingPolicy(Options(idleSeconds: 30));
        var state = ScalingState.Start(10);
        DateTimeOffset now = T0;

        List<int> targets = Run(policy, ref state, Idle, 2, ref now);
        targets.AddRange(Run(policy, ref state, Keeping, 1, ref now));
        targets.AddRange(Run(policy, ref state, Idle, 4, ref now));

        Assert.Equal([10, 10, 10, 10, 10, 10, 2], targets);
    }

    [Fact]
    public void Given_records_in_flight_but_none_arriving_When_evaluated_Then_it_is_not_idle()
    {
        var policy = new ScalingPolicy(Options(idleSeconds: 0));
        ScalingDecision d = policy.Decide(ScalingState.Start(10), Idle with { InFlight = 1 }, T0);
        Assert.Equal(10, d.Target);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(50, 20)]
    public void Given_lanes_outside_the_bounds_When_evaluated_Then_they_are_brought_within(int current, int expected)
    {
        var policy = new ScalingPolicy(Options(max: 20));
        ScalingDecision d = policy.Decide(ScalingState.Start(current), Keeping, T0);
        Assert.Equal(expected, d.Target);
        Assert.Equal(ScalingReason.OutOfBounds, d.Reason);
    }

    [Fact]
    public void Given_the_minimum_When_idle_Then_it_never_goes_below_it()
    {
        var policy = new ScalingPolicy(Options(idleSeconds: 0));
        var state = ScalingState.Start(2);
        DateTimeOffset now = T0;

        List<int> targets = Run(policy, ref state, Idle, 5, ref now);

        Assert.All(targets, t => Assert.Equal(2, t));
    }
}
