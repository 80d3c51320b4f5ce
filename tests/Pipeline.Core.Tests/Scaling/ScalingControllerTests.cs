using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Scaling;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Scaling;

public sealed class ScalingControllerTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    /// <summary>A mapping stand-in whose signals a test scripts; it counts reads to know a period was evaluated.</summary>
    private sealed class FakeTarget(int lanes) : IScalingTarget
    {
        private ScalingSignals _cumulative;
        private int _reads;

        public int Concurrency { get; private set; } = lanes;

        public List<int> Changes { get; } = [];

        public int Reads => Volatile.Read(ref _reads);

        public bool Backlog { get; set; }

        public ScalingSignals ReadSignals()
        {
            Interlocked.Increment(ref _reads);
            if (Backlog)
            {
                _cumulative = _cumulative with
                {
                    Polls = _cumulative.Polls + 10,
                    FullPolls = _cumulative.FullPolls + 10,
                    Batches = _cumulative.Batches + 10,
                    FullBatches = _cumulative.FullBatches + 10,
                };
            }
            else
            {
                _cumulative = _cumulative with { Polls = _cumulative.Polls + 10, EmptyPolls = _cumulative.EmptyPolls + 10 };
            }

            return _cumulative with { InFlight = Backlog ? 50 : 0, Buffered = Backlog ? 100 : 0 };
        }

        public void SetConcurrency(int lanes)
        {
            Concurrency = lanes;
            Changes.Add(lanes);
        }
    }

    private static async Task TickAsync(FakeTimeProvider time, FakeTarget target, ScalingController controller)
    {
        long before = controller.Evaluations;
        time.Advance(Period);
        await Wait.UntilAsync(() => controller.Evaluations > before, "an evaluation");
    }

    [Fact]
    public async Task Given_a_backlog_then_idleness_When_time_passes_Then_the_controller_grows_within_the_cap_and_falls_back_to_two()
    {
        var time = new FakeTimeProvider();
        var target = new FakeTarget(5) { Backlog = true };
        var options = new ScalingOptions { Enabled = true, MaximumConcurrency = 30, EvaluationPeriod = Period, IdleBeforeScaleDown = TimeSpan.FromSeconds(20) };
        var controller = new ScalingController(options, target, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        Task run = controller.RunAsync(stop.Token);
        await Wait.UntilAsync(() => target.Reads >= 1, "the controller's first read");

        for (int i = 0; i < 4; i++)
        {
            await TickAsync(time, target, controller);
        }

        Assert.Equal([10, 20, 30], target.Changes);
        Assert.Equal(ScalingReason.AtMaximum, controller.LastReason);

        target.Backlog = false;
        for (int i = 0; i < 3; i++)
        {
            await TickAsync(time, target, controller);
        }

        Assert.Equal([10, 20, 30, 2], target.Changes);
        Assert.Equal(2, target.Concurrency);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Given_no_time_passing_When_the_controller_runs_Then_it_changes_nothing()
    {
        var time = new FakeTimeProvider();
        var target = new FakeTarget(5) { Backlog = true };
        var controller = new ScalingController(new ScalingOptions { Enabled = true, EvaluationPeriod = Period }, target, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        Task run = controller.RunAsync(stop.Token);
        await Wait.UntilAsync(() => target.Reads >= 1, "the controller's first read");

        time.Advance(Period - TimeSpan.FromMilliseconds(1));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(target.Changes);
        Assert.Equal(0, controller.Evaluations);
    }
}
