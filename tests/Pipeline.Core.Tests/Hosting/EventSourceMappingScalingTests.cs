using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Scaling;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Hosting;

/// <summary>The scaling controller on a real mapping over the embedded queue, with short periods, in real time.</summary>
public sealed class EventSourceMappingScalingTests
{
    private readonly MappingFeatureKit _kit = new();

    [Fact]
    public async Task Given_a_backlog_When_the_mapping_scales_Then_lanes_grow_within_the_cap_and_fall_back_to_two_once_the_queue_is_empty()
    {
        for (int i = 0; i < 4000; i++)
        {
            _kit.SendJob($"job-{i}", $"in/{i}.jpg");
        }

        var function = new ScriptedFunction(async (job, _, ct) =>
        {
            await Task.Delay(1, ct); // a little work per job, so batches queue up behind the lanes
            return new JobOutput(job.Source);
        });
        EventSourceMapping mapping = _kit.Mapping(function, MappingFeatureKit.Options() with
        {
            Scaling = new ScalingOptions
            {
                Enabled = true,
                MaximumConcurrency = 16,
                EvaluationPeriod = TimeSpan.FromMilliseconds(50),
                IdleBeforeScaleDown = TimeSpan.FromMilliseconds(300),
            },
        });
        Assert.Equal(5, mapping.Router.LaneCount); // AWS's starting point, not MappingOptions.Concurrency

        int most = 0;
        bool Watch(Func<bool> condition)
        {
            most = Math.Max(most, mapping.Concurrency);
            return condition();
        }

        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => Watch(() => mapping.Router.LaneCount >= 10), "lanes to grow under the backlog", MappingFeatureKit.Bound);
        await Wait.UntilAsync(() => Watch(() => _kit.Queue.IsEmpty), "the backlog to drain", MappingFeatureKit.Bound);
        await Wait.UntilAsync(() => Watch(() => mapping.Router.LaneCount == 2), "lanes to fall back to 2 when idle", MappingFeatureKit.Bound);
        await stop.CancelAsync();
        await run.WaitAsync(MappingFeatureKit.Bound);

        Assert.InRange(most, 10, 16);
        Assert.Equal(2, mapping.Concurrency);
        Assert.Equal(4000, mapping.Statistics.SucceededEventCount);
        Assert.Equal(4000, function.CallsByKey.Count);
        Assert.True(mapping.Statistics.FullBatchCount > 0);
    }

    [Fact]
    public void Given_scaling_with_a_bad_maximum_When_the_mapping_is_built_Then_it_fails_naming_ScalingConfig()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _kit.Mapping(new ScriptedFunction(), MappingFeatureKit.Options() with
        {
            Scaling = new ScalingOptions { Enabled = true, MaximumConcurrency = 1 },
        }));
        Assert.Contains("ScalingConfig.MaximumConcurrency", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_scaling_off_When_the_mapping_runs_Then_its_fixed_concurrency_holds()
    {
        for (int i = 0; i < 300; i++)
        {
            _kit.SendJob($"job-{i}");
        }

        EventSourceMapping mapping = _kit.Mapping(new ScriptedFunction(), MappingFeatureKit.Options() with { Concurrency = 3 });
        await _kit.RunUntilEmptyAsync(mapping);

        Assert.Null(mapping.Scaler);
        Assert.Equal(3, mapping.Router.LaneCount);
        Assert.Equal(0, mapping.Router.ResizeCount);
    }
}
