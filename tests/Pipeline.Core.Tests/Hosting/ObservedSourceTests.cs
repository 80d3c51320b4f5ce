using System.Text;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Pipeline.Core.Sources.Embedded;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Hosting;

/// <summary>
/// Records received but still waiting for a lane are kept hidden: a wait longer than the visibility timeout must not
/// make the queue hand a message out again (one more receive towards the DLQ each time).
/// </summary>
public sealed class ObservedSourceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Given_records_waiting_behind_a_batch_that_outlasts_the_visibility_timeout_When_the_mapping_runs_Then_none_is_received_twice()
    {
        // Given a one-lane mapping on a queue with a 6 s visibility timeout, whose first job blocks until the others
        // have waited longer than a timeout. (Not shorter: the keeper extends after half a timeout and looks every
        // sixth, so it tolerates a stall of a third of a timeout, and a cold test host on a loaded 2-core machine was
        // seen to stall 1.3 s while it compiled the mapping's first calls.)
        const int jobs = 5;
        TimeSpan visibilityTimeout = TimeSpan.FromSeconds(6);
        var dlq = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "dlq" }, TimeProvider.System);
        var queue = new EmbeddedQueue(new EmbeddedQueueOptions
        {
            Name = "jobs",
            ReceiveWaitTime = TimeSpan.FromMilliseconds(20),
            VisibilityTimeout = visibilityTimeout,
            MaxReceiveCount = 3,
        }, TimeProvider.System, dlq);
        for (int i = 0; i < jobs; i++)
        {
            queue.Send(Encoding.UTF8.GetBytes($$"""{"jobId":"job-{{i}}","source":"in/{{i}}.jpg"}"""));
        }

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var function = new ScriptedFunction(async (job, _, ct) =>
        {
            if (job.Key == "job-0")
            {
                await release.Task.WaitAsync(ct);
            }

            return new JobOutput("out/" + job.Source);
        });
        var invoker = InvokerOptions.Default with
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            ClaimLease = TimeSpan.FromSeconds(2),
            RetryAttempts = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        };
        var mapping = new EventSourceMapping(
            new MappingOptions { Batching = BatchingOptions.ForSqs(1), Concurrency = 1, Invoker = invoker },
            new EmbeddedQueueSource(queue), function,
            new IdempotencyGuard(new InMemoryIdempotencyStore(), "host/1/1/a", FakeLiveness.NobodyDies, TimeProvider.System, invoker.ClaimLease));

        using var stop = new CancellationTokenSource();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        Task run = mapping.RunAsync(stop.Token);

        // When the waiting records have been kept hidden twice each and have waited 1.25 visibility timeouts (without
        // the keeper they would have been received again by then),
        await Wait.UntilAsync(
            () => mapping.Statistics.KeptHiddenEventCount >= 2 * (jobs - 1) && waited.Elapsed >= visibilityTimeout * 1.25,
            "the waiting records kept hidden twice each, over 1.25 visibility timeouts", Bound);
        release.SetResult();
        await queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Bound);
        await stop.CancelAsync();
        await run.WaitAsync(Bound);

        // Then every job ran once, from its first and only receive, and nothing reached the DLQ.
        Assert.Equal(jobs, mapping.Statistics.PolledEventCount);
        Assert.Equal(0, mapping.Statistics.SkippedEventCount);
        Assert.Equal(jobs, mapping.Statistics.SucceededEventCount);
        Assert.All(function.CallsByKey.Values, n => Assert.Equal(1, n));
        Assert.Empty(dlq.PeekAll());
    }

    [Fact]
    public async Task Given_a_held_record_When_half_a_visibility_timeout_passes_Then_it_is_extended_by_a_whole_timeout_and_not_before()
    {
        // Given a source with a 60 s visibility timeout that handed out two records,
        var time = new FakeTimeProvider();
        var inner = new ScriptedSource(TimeSpan.FromSeconds(60), TestRecords.Record("a", "m-a"), TestRecords.Record("b", "m-b"));
        var stats = new MappingStatistics();
        var observed = new ObservedSource(inner, stats, time);
        IReadOnlyList<SourceRecord> received = await observed.ReceiveAsync(10, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        Task keeping = observed.KeepHiddenAsync(stop.Token);

        // When the keeper looks every 10 s (a sixth of the timeout): at 10 s and 20 s nothing is extended; at 30 s both
        // are, by 60 s.
        for (int sweep = 1; sweep <= 2; sweep++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Wait.UntilAsync(() => observed.Sweeps == sweep, $"keeper pass {sweep}", Bound);
            Assert.Empty(inner.Extensions);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        await Wait.UntilAsync(() => observed.Sweeps == 3, "keeper pass 3", Bound);
        Assert.Equal(2, stats.KeptHiddenEventCount);

        // Then: one extension of both, by a whole visibility timeout; and after one is acknowledged, only the other
        // is extended again.
        (IReadOnlyList<SourceRecord> records, TimeSpan visibility) = Assert.Single(inner.Extensions);
        Assert.Equal(["m-a", "m-b"], records.Select(r => r.Id).Order());
        Assert.Equal(TimeSpan.FromSeconds(60), visibility);
        await observed.AcknowledgeAsync([ItemResult.Success(received[0], "out/a")], CancellationToken.None);
        Assert.Equal(1, observed.HeldCount);
        for (int sweep = 4; sweep <= 6; sweep++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Wait.UntilAsync(() => observed.Sweeps == sweep, $"keeper pass {sweep}", Bound);
        }

        Assert.Equal(3, stats.KeptHiddenEventCount);
        Assert.Equal(["m-b"], inner.Extensions.Last().Records.Select(r => r.Id));
        await stop.CancelAsync();
        await keeping.WaitAsync(Bound);
    }

    [Fact]
    public async Task Given_an_extension_in_flight_When_its_record_is_released_Then_the_release_waits_for_it_so_the_record_ends_visible()
    {
        // Given a held record whose extension is on its way (the source has not answered yet),
        var time = new FakeTimeProvider();
        var inner = new ScriptedSource(TimeSpan.FromSeconds(6), TestRecords.Record("a", "m-a")) { ExtendGate = new TaskCompletionSource() };
        var observed = new ObservedSource(inner, new MappingStatistics(), time);
        IReadOnlyList<SourceRecord> received = await observed.ReceiveAsync(10, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        Task keeping = observed.KeepHiddenAsync(stop.Token);
        time.Advance(TimeSpan.FromSeconds(3));
        await Wait.UntilAsync(() => inner.ExtensionsStarted == 1, "the extension sent", Bound);

        // When the record is released meanwhile,
        Task releasing = observed.ReleaseAsync(received, CancellationToken.None).AsTask();

        // Then the release reaches the source only after the extension was answered: the last word is "visible now".
        Assert.False(releasing.IsCompleted);
        Assert.Empty(inner.Log);
        inner.ExtendGate.SetResult();
        await releasing.WaitAsync(Bound);
        Assert.Equal(["extend m-a", "release m-a"], inner.Log);
        Assert.Equal(0, observed.HeldCount);
        await stop.CancelAsync();
        await keeping.WaitAsync(Bound);
    }

    [Fact]
    public async Task Given_a_source_without_a_visibility_clock_When_records_are_received_Then_nothing_is_held_or_extended()
    {
        var time = new FakeTimeProvider();
        var inner = new ScriptedSource(TimeSpan.Zero, TestRecords.Record("a", "m-a"));
        var observed = new ObservedSource(inner, new MappingStatistics(), time);

        await observed.ReceiveAsync(10, CancellationToken.None);
        Task keeping = observed.KeepHiddenAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromHours(1));

        Assert.True(keeping.IsCompletedSuccessfully, "the keeper has nothing to do for a stream");
        Assert.Equal(0, observed.HeldCount);
        Assert.Empty(inner.Extensions);
    }

    /// <summary>A source that hands out fixed records once and logs what it is asked to do with them.</summary>
    private sealed class ScriptedSource(TimeSpan visibility, params SourceRecord[] records) : IRecordSource, IBatchAcknowledger
    {
        private readonly Lock _gate = new();
        private bool _given;

        public string Name => "test://scripted";

        public IBatchAcknowledger Acknowledger => this;

        public TimeSpan VisibilityTimeout => visibility;

        public TaskCompletionSource? ExtendGate { get; init; }

        public List<(IReadOnlyList<SourceRecord> Records, TimeSpan Visibility)> Extensions { get; } = [];

        public List<string> Log { get; } = [];

        public int ExtensionsStarted { get; private set; }

        public ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken)
        {
            IReadOnlyList<SourceRecord> batch = _given ? [] : records;
            _given = true;
            return ValueTask.FromResult(batch);
        }

        public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                Log.AddRange(results.Select(r => "ack " + r.Record.Id));
            }

            return ValueTask.CompletedTask;
        }

        public async ValueTask ExtendAsync(IReadOnlyList<SourceRecord> extended, TimeSpan by, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                ExtensionsStarted++;
            }

            if (ExtendGate is not null)
            {
                await ExtendGate.Task.WaitAsync(cancellationToken);
            }

            lock (_gate)
            {
                Extensions.Add(([.. extended], by));
                Log.AddRange(extended.Select(r => "extend " + r.Id));
            }
        }

        public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> released, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                Log.AddRange(released.Select(r => "release " + r.Id));
            }

            return ValueTask.CompletedTask;
        }
    }
}
