using System.Collections.Concurrent;
using System.Text;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;
using Pipeline.Core.Sources.Embedded;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Hosting;

/// <summary>The whole engine on the embedded queue, in real time with short periods, waiting on conditions only.</summary>
public sealed class EventSourceMappingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly InMemoryIdempotencyStore _store = new();
    private readonly EmbeddedQueue _dlq = new(new EmbeddedQueueOptions { Name = "dlq" }, TimeProvider.System);
    private readonly EmbeddedQueue _queue;

    public EventSourceMappingTests()
    {
        _queue = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "jobs", ReceiveWaitTime = TimeSpan.FromMilliseconds(20), VisibilityTimeout = TimeSpan.FromSeconds(30) }, TimeProvider.System, _dlq);
    }

    private static readonly InvokerOptions FastBackoff = InvokerOptions.Default with
    {
        SourceBackoffBase = TimeSpan.FromMilliseconds(5),
        SourceBackoffMax = TimeSpan.FromMilliseconds(20),
        RetryAttempts = 1,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
    };

    private EventSourceMapping Mapping(ScriptedFunction function, int lanes = 4, LaneKeySource key = LaneKeySource.JobKey, int batchSize = 10, string owner = "host/1/1/a") =>
        new(new MappingOptions { Batching = BatchingOptions.ForSqs(batchSize), Concurrency = lanes, LaneKey = key, Invoker = FastBackoff },
            new EmbeddedQueueSource(_queue), function,
            new IdempotencyGuard(_store, owner, FakeLiveness.NobodyDies, TimeProvider.System, TimeSpan.FromSeconds(15)));

    private void Enqueue(int count, Func<int, string>? body = null, Func<int, IReadOnlyDictionary<string, string>?>? attributes = null)
    {
        for (int i = 0; i < count; i++)
        {
            _queue.Send(Encoding.UTF8.GetBytes(body?.Invoke(i) ?? $$"""{"jobId":"job-{{i}}","source":"in/{{i}}.jpg"}"""), attributes?.Invoke(i));
        }
    }

    private async Task RunUntilEmptyAsync(EventSourceMapping mapping)
    {
        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await _queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Bound);
        await stop.CancelAsync();
        await run.WaitAsync(Bound);
    }

    [Fact]
    public async Task Given_a_backlog_When_the_mapping_runs_Then_every_job_runs_once_and_is_deleted()
    {
        Enqueue(1000);
        var function = new ScriptedFunction();
        EventSourceMapping mapping = Mapping(function);

        await RunUntilEmptyAsync(mapping);

        Assert.Equal(1000, function.CallsByKey.Count);
        Assert.All(function.CallsByKey.Values, n => Assert.Equal(1, n));
        Assert.Equal(1000, mapping.Statistics.SucceededEventCount);
        Assert.True(_queue.IsEmpty);
        Assert.Empty(_dlq.PeekAll());
    }

    [Fact]
    public async Task Given_keys_spread_over_lanes_When_lanes_run_concurrently_and_are_resized_Then_each_key_keeps_its_order()
    {
        const int groups = 25, perGroup = 120;
        Enqueue(groups * perGroup,
            i => $$"""{"jobId":"g{{i % groups}}-s{{i / groups}}","source":"in/{{i}}.jpg"}""",
            i => new Dictionary<string, string> { ["MessageGroupId"] = $"g{i % groups}" });
        var seen = new ConcurrentDictionary<string, List<int>>();
        var function = new ScriptedFunction(async (job, _, _) =>
        {
            string[] parts = job.JobId!.Split('-');
            List<int> list = seen.GetOrAdd(parts[0], _ => []);
            lock (list)
            {
                list.Add(int.Parse(parts[1][1..], System.Globalization.CultureInfo.InvariantCulture));
            }

            // Vary timing so lanes overtake each other.
            if (job.JobId.GetHashCode(StringComparison.Ordinal) % 3 == 0)
            {
                await Task.Yield();
            }

            return new JobOutput(null);
        });
        EventSourceMapping mapping = Mapping(function, lanes: 6, key: LaneKeySource.PartitionKey, batchSize: 5);

        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => mapping.Statistics.SucceededEventCount > 600, "some progress");
        mapping.SetConcurrency(2);
        await Wait.UntilAsync(() => mapping.Router.ResizeCount >= 1, "shrink applied");
        await Wait.UntilAsync(() => mapping.Statistics.SucceededEventCount > 1500, "more progress");
        mapping.SetConcurrency(9);
        await _queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Bound);
        await stop.CancelAsync();
        await run.WaitAsync(Bound);

        Assert.Equal(2, mapping.Router.ResizeCount);
        Assert.Equal(groups, seen.Count);
        foreach ((string group, List<int> order) in seen)
        {
            Assert.True(order.SequenceEqual(Enumerable.Range(0, perGroup)), $"group {group} ran out of order: {string.Join(",", order.Take(20))}...");
        }
    }

    [Fact]
    public async Task Given_a_running_mapping_When_it_is_stopped_midway_Then_nothing_is_lost_or_left_invisible()
    {
        Enqueue(3000);
        var function = new ScriptedFunction(async (job, _, _) =>
        {
            await Task.Yield();
            return new JobOutput(job.Source);
        });
        EventSourceMapping first = Mapping(function, lanes: 4);

        using var stop = new CancellationTokenSource();
        Task run = first.RunAsync(stop.Token);
        await Wait.UntilAsync(() => first.Statistics.SucceededEventCount >= 300, "work under way");
        await stop.CancelAsync();
        await run.WaitAsync(Bound);

        // Stopped: nothing is held invisibly, and every job is either done or back on the queue.
        Assert.Equal(0, _queue.ApproximateNumberOfMessagesNotVisible);
        long done = first.Statistics.SucceededEventCount;
        Assert.True(done < 3000, "the stop came before the end");
        Assert.Equal(3000, done + _queue.ApproximateNumberOfMessages);
        Assert.Equal(first.Statistics.PolledEventCount - done, first.Statistics.ReleasedEventCount);

        // A second run finishes the rest; nothing ran twice.
        EventSourceMapping second = Mapping(function, lanes: 4);
        await RunUntilEmptyAsync(second);
        Assert.Equal(3000, function.CallsByKey.Count);
        Assert.All(function.CallsByKey.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Given_poison_messages_When_the_mapping_runs_Then_each_reaches_the_DLQ_after_five_receives_with_its_reason()
    {
        Enqueue(50);
        _queue.Send(Encoding.UTF8.GetBytes("not json"));
        _queue.Send(Encoding.UTF8.GetBytes("""{"jobId":"boom","source":"in/boom.jpg"}"""));
        _queue.Send(Encoding.UTF8.GetBytes("""{"jobId":"flaky","source":"in/flaky.jpg"}"""));
        var function = new ScriptedFunction((job, _, _) => job.JobId switch
        {
            "boom" => throw new PermanentJobException("image is truncated"),
            "flaky" => throw new InvalidOperationException("always fails"),
            _ => ValueTask.FromResult(new JobOutput(job.Source)),
        });
        EventSourceMapping mapping = Mapping(function);

        await RunUntilEmptyAsync(mapping);

        IReadOnlyList<DeadLetter> dead = _dlq.PeekAll();
        Assert.Equal(3, dead.Count);
        Assert.All(dead, d => Assert.Equal(5, d.ReceiveCount));
        Assert.Contains(dead, d => d.LastError!.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Contains(dead, d => d.LastError == "image is truncated");
        Assert.Contains(dead, d => d.LastError!.Contains("always fails", StringComparison.Ordinal));
        Assert.Equal(50, mapping.Statistics.SucceededEventCount);
        Assert.Equal(1, function.CallsByKey["boom"]); // later receives failed fast
        Assert.Equal(5, function.CallsByKey["flaky"]); // once per receive: an unexpected error is not retried in process
    }

    [Fact]
    public async Task Given_dead_letters_When_the_fault_is_fixed_and_they_are_redriven_Then_they_run_fresh()
    {
        Enqueue(5);
        bool broken = true;
        var function = new ScriptedFunction((job, _, _) => broken && job.JobId == "job-3"
            ? throw new PermanentJobException("source unreadable")
            : ValueTask.FromResult(new JobOutput(job.Source)));

        await RunUntilEmptyAsync(Mapping(function));
        DeadLetter dead = Assert.Single(_dlq.PeekAll());
        Assert.Equal("source unreadable", dead.LastError);

        broken = false;
        Assert.Equal(1, _dlq.MoveAllTo(_queue));
        EventSourceMapping rerun = Mapping(function);
        await RunUntilEmptyAsync(rerun);

        Assert.Equal(1, rerun.Statistics.SucceededEventCount);
        Assert.Empty(_dlq.PeekAll());
        Assert.Equal(2, function.CallsByKey["job-3"]);
    }

    [Fact]
    public async Task Given_a_custom_decoder_When_the_mapping_runs_Then_its_jobs_reach_the_function()
    {
        // A decoder for bodies that are just a path: the seam the MassTransit envelope will plug into.
        _queue.Send(Encoding.UTF8.GetBytes("in/a.jpg"));
        _queue.Send(Encoding.UTF8.GetBytes(""));
        var function = new ScriptedFunction();
        var mapping = new EventSourceMapping(
            new MappingOptions { Invoker = FastBackoff, Concurrency = 2 },
            new EmbeddedQueueSource(_queue), function,
            new IdempotencyGuard(_store, "host/1/1/a", FakeLiveness.NobodyDies, TimeProvider.System, TimeSpan.FromSeconds(15)),
            decoder: new PathDecoder());

        await RunUntilEmptyAsync(mapping);

        Assert.Equal(["in/a.jpg"], function.CallsByKey.Keys.Select(k => k));
        DeadLetter dead = Assert.Single(_dlq.PeekAll());
        Assert.Contains("empty path", dead.LastError, StringComparison.Ordinal);
    }

    private sealed class PathDecoder : Pipeline.Core.Records.IJobDecoder
    {
        public bool TryDecode(ReadOnlySpan<byte> body, out Pipeline.Core.Records.Job? job, out string? error)
        {
            string path = Encoding.UTF8.GetString(body);
            job = path.Length == 0 ? null : new Pipeline.Core.Records.Job { Source = path, Key = path };
            error = job is null ? "empty path" : null;
            return job is not null;
        }
    }
}
