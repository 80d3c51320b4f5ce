using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Pipeline.Core.Sources.Streams;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Sources.Streams;

/// <summary>
/// The Kinesis ESM failure loop of one lane: a real <see cref="BatchInvoker"/> over an in-memory idempotency store, a
/// scripted function, and a fake clock for the retry backoff. Records are "1000", "1001", ... carrying jobs j0, j1, ...
/// </summary>
public sealed class StreamBatchInvokerTests
{
    private const string Shard = "shardId-000000000007";

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryIdempotencyStore _store = new();
    private readonly MappingStatistics _stats = new();
    private readonly List<string> _finished = [];
    private readonly List<int> _invocationSizes = [];
    private long _outcomesSeen;

    private static StreamFailureOptions Failure(bool report = false, bool bisect = false, int retries = -1, TimeSpan? maxAge = null) => new()
    {
        ReportBatchItemFailures = report,
        BisectBatchOnFunctionError = bisect,
        MaximumRetryAttempts = retries,
        MaximumRecordAge = maxAge,
        RetryBaseDelay = TimeSpan.FromMilliseconds(100),
        RetryMaxDelay = TimeSpan.FromSeconds(1),
    };

    /// <summary>The lane as the Kinesis mapping builds it: no in-process retries, StopOnFirstFailure on.</summary>
    private StreamBatchInvoker Lane(IJobFunction function, StreamFailureOptions options, IDiscardedBatchSink? sink, bool stopOnFirstFailure = true)
    {
        var invokerOptions = InvokerOptions.Default with { RetryAttempts = 0, StopOnFirstFailure = stopOnFirstFailure };
        var guard = new IdempotencyGuard(_store, "host/1/1/a", FakeLiveness.NobodyDies, _time, invokerOptions.ClaimLease);
        var invoker = new BatchInvoker(function, guard, NoOpAcknowledger.Instance, invokerOptions, BatchingOptions.ForKinesis(), _time, _stats, NullLogger.Instance, new Random(7));
        return new StreamBatchInvoker(invoker, options, sink, Shard, r => _finished.Add(r.Id), OnInvocationEnd, _time, _stats, NullLogger.Instance);
    }

    /// <summary>Every invocation reports one outcome per record it was given, so the growth of the outcome counters between two invocation ends is the size of the invocation.</summary>
    private void OnInvocationEnd()
    {
        long seen = OutcomeTotal();
        _invocationSizes.Add((int)(seen - _outcomesSeen));
        _outcomesSeen = seen;
    }

    private long OutcomeTotal() =>
        _stats.SucceededEventCount + _stats.SkippedEventCount + _stats.RetriedEventCount + _stats.PermanentFailureEventCount
        + _stats.DeferredEventCount + _stats.ReleasedEventCount + _stats.FilteredOutEventCount;

    private Batch BatchOf(int count, int first = 0)
    {
        var items = new DecodedRecord[count];
        for (int i = 0; i < count; i++)
        {
            int n = first + i;
            items[i] = TestRecords.Decoded(new SourceRecord
            {
                Id = Seq(n),
                PartitionKey = "key-" + n.ToString(CultureInfo.InvariantCulture),
                Body = Encoding.UTF8.GetBytes($$"""{"jobId":"j{{n}}","source":"s3://in/{{n}}.jpg"}"""),
                Source = "arn:aws:kinesis:us-east-1:000000000000:stream/test",
                SentAt = _time.GetUtcNow(),
            });
        }

        return new Batch(0, items, items.Sum(i => i.Record.PayloadBytes), BatchCutReason.BatchSizeReached);
    }

    private static string Seq(int n) => (1000 + n).ToString(CultureInfo.InvariantCulture);

    private static string[] Seqs(params int[] ns) => [.. ns.Select(Seq)];

    private static string[] SeqRange(int from, int count) => [.. Enumerable.Range(from, count).Select(Seq)];

    /// <summary>Moves the fake clock on until the batch is done (each step is longer than no backoff, shorter than most).</summary>
    private async Task DriveAsync(Task processing)
    {
        var wall = Stopwatch.StartNew();
        while (!processing.IsCompleted)
        {
            Assert.True(wall.Elapsed < TimeSpan.FromSeconds(20), "ProcessAsync did not finish while the clock was driven");
            _time.Advance(Step);
            await Task.Delay(1);
        }

        await processing;
    }

    [Fact]
    public async Task Given_a_batch_that_succeeds_When_processed_Then_every_record_finishes_once_in_shard_order_after_one_invocation()
    {
        var function = new ScriptFunction();

        await Lane(function, Failure(), sink: null).ProcessAsync(BatchOf(5), () => false, default);

        Assert.Equal(SeqRange(0, 5), _finished);
        Assert.Equal(["j0", "j1", "j2", "j3", "j4"], function.Calls);
        Assert.Equal([5], _invocationSizes);
        Assert.Equal(5, _stats.DeletedEventCount);
        Assert.Equal(0, _stats.DroppedEventCount);
    }

    [Fact]
    public async Task Given_ReportBatchItemFailures_When_a_middle_record_fails_once_Then_the_records_before_it_finish_at_once_and_the_rest_is_retried_after_the_backoff()
    {
        var function = new ScriptFunction { Fail = (job, attempt) => job == "j2" && attempt == 1 ? new TransientJobException("throttled") : null };
        StreamBatchInvoker lane = Lane(function, Failure(report: true), sink: null);

        Task processing = lane.ProcessAsync(BatchOf(6), () => false, default);
        await Wait.UntilAsync(() => _invocationSizes.Count == 1, "the first invocation to end");

        // Before the clock moves, only the records below the lowest failure are done; the retry waits its backoff.
        Assert.Equal(SeqRange(0, 2), _finished);
        Assert.Equal(["j0", "j1", "j2"], function.Calls);
        Assert.False(processing.IsCompleted);

        await DriveAsync(processing);

        Assert.Equal(SeqRange(0, 6), _finished);
        Assert.Equal(["j0", "j1", "j2", "j2", "j3", "j4", "j5"], function.Calls);
        Assert.Equal([6, 4], _invocationSizes);
        Assert.Equal(0, _stats.DroppedEventCount);
    }

    [Fact]
    public async Task Given_ReportBatchItemFailures_and_records_after_the_failure_that_succeeded_When_retried_from_the_failure_Then_those_are_skipped_by_the_guard_not_run_again()
    {
        var function = new ScriptFunction { Fail = (job, attempt) => job == "j1" && attempt == 1 ? new TransientJobException("blip") : null };

        // Without StopOnFirstFailure the invoker runs the records after the failure too.
        Task processing = Lane(function, Failure(report: true), sink: null, stopOnFirstFailure: false).ProcessAsync(BatchOf(4), () => false, default);
        await DriveAsync(processing);

        Assert.Equal(SeqRange(0, 4), _finished);
        Assert.Equal(["j0", "j1", "j2", "j3", "j1"], function.Calls);
        Assert.Equal([4, 3], _invocationSizes);
        Assert.Equal(2, _stats.SkippedEventCount);
    }

    [Fact]
    public async Task Given_no_ReportBatchItemFailures_When_one_record_fails_Then_the_whole_batch_is_retried_and_nothing_finishes_before_it_succeeds()
    {
        var function = new ScriptFunction { Fail = (job, attempt) => job == "j2" && attempt == 1 ? new TransientJobException("throttled") : null };
        StreamBatchInvoker lane = Lane(function, Failure(report: false), sink: null);

        Task processing = lane.ProcessAsync(BatchOf(5), () => false, default);
        await Wait.UntilAsync(() => _invocationSizes.Count == 1, "the first invocation to end");
        Assert.Empty(_finished);

        await DriveAsync(processing);

        Assert.Equal(SeqRange(0, 5), _finished);
        Assert.Equal([5, 5], _invocationSizes);

        // j0 and j1 succeeded in the first invocation: the retry of the whole batch skips them.
        Assert.Equal(["j0", "j1", "j2", "j2", "j3", "j4"], function.Calls);
        Assert.Equal(2, _stats.SkippedEventCount);
    }

    [Fact]
    public async Task Given_bisect_and_a_poison_record_When_a_batch_of_8_fails_Then_it_is_halved_down_to_the_poison_which_still_gets_all_its_retries_before_discard()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j5" ? new TransientJobException("poison") : null };
        var sink = new RecordingSink();

        await DriveAsync(Lane(function, Failure(bisect: true, retries: 2), sink).ProcessAsync(BatchOf(8), () => false, default));

        // [0..7] fails -> [0..3] ok, [4..7] fails -> [4,5] fails -> [4] ok, [5] fails, retry, retry -> discard; then [6,7].
        Assert.Equal([8, 4, 4, 2, 1, 1, 1, 1, 2], _invocationSizes);
        DiscardedBatch discarded = Assert.Single(sink.Delivered);
        Assert.Equal(Seqs(5), discarded.Records.Select(r => r.Id));
        Assert.Equal(FailedBatchDecision.RetryAttemptsExhausted, discarded.Condition);
        Assert.Equal(Shard, discarded.ShardId);

        // The poison was in six invocations: the batch, two halvings, and its own three (first try and two retries).
        Assert.Equal(6, discarded.InvokeCount);
        Assert.Contains("poison", discarded.LastError, StringComparison.Ordinal);
        Assert.False(discarded.PartialFailure);
        Assert.Equal(SeqRange(0, 8), _finished);
        Assert.Equal(6, function.Calls.Count(c => c == "j5"));
        Assert.All(function.Calls.Where(c => c != "j5").GroupBy(c => c), g => Assert.Single(g));
        Assert.Equal(1, _stats.DroppedEventCount);
        Assert.Equal(1, _stats.OnFailureDestinationDeliveredEventCount);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Given_MaximumRetryAttempts_N_When_a_batch_keeps_failing_Then_it_is_invoked_N_plus_1_times_and_then_discarded(int retries)
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j1" ? new TransientJobException("down") : null };
        var sink = new RecordingSink();

        await DriveAsync(Lane(function, Failure(retries: retries), sink).ProcessAsync(BatchOf(3), () => false, default));

        Assert.Equal(Enumerable.Repeat(3, retries + 1), _invocationSizes);
        Assert.Equal(retries + 1, function.Calls.Count(c => c == "j1"));
        DiscardedBatch discarded = Assert.Single(sink.Delivered);
        Assert.Equal(FailedBatchDecision.RetryAttemptsExhausted, discarded.Condition);
        Assert.Equal(retries + 1, discarded.InvokeCount);

        // Without ReportBatchItemFailures the whole batch is the failed one, so the whole batch is described.
        Assert.Equal(SeqRange(0, 3), discarded.Records.Select(r => r.Id));
        Assert.Equal(SeqRange(0, 3), _finished);
    }

    [Fact]
    public async Task Given_ReportBatchItemFailures_When_retries_run_out_Then_only_the_rest_from_the_lowest_failure_is_discarded_as_a_partial_failure()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j2" ? new PermanentJobException("bad image") : null };
        var sink = new RecordingSink();

        await DriveAsync(Lane(function, Failure(report: true, retries: 1), sink).ProcessAsync(BatchOf(5), () => false, default));

        DiscardedBatch discarded = Assert.Single(sink.Delivered);
        Assert.Equal(SeqRange(2, 3), discarded.Records.Select(r => r.Id));
        Assert.True(discarded.PartialFailure);
        Assert.Equal(2, discarded.InvokeCount);
        Assert.Contains("bad image", discarded.LastError, StringComparison.Ordinal);
        Assert.Equal([5, 3], _invocationSizes);
        Assert.Equal(SeqRange(0, 5), _finished);

        // j3 and j4 were never started: discarding a failed rest never runs what follows the failure.
        Assert.DoesNotContain("j3", function.Calls);
    }

    [Fact]
    public async Task Given_MaximumRecordAge_and_infinite_retries_When_the_records_grow_too_old_while_retried_Then_the_batch_is_discarded_for_record_age()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j0" ? new TransientJobException("down") : null };
        var sink = new RecordingSink();
        DateTimeOffset sent = _time.GetUtcNow();

        await DriveAsync(Lane(function, Failure(maxAge: TimeSpan.FromSeconds(3)), sink).ProcessAsync(BatchOf(2), () => false, default));

        DiscardedBatch discarded = Assert.Single(sink.Delivered);
        Assert.Equal(FailedBatchDecision.RecordAgeExceeded, discarded.Condition);
        Assert.Equal(SeqRange(0, 2), discarded.Records.Select(r => r.Id));
        Assert.True(_time.GetUtcNow() - sent > TimeSpan.FromSeconds(3));

        // Backoffs of at most 1 s: several retries happen before 3 s pass, and the count reported is the real one.
        Assert.InRange(discarded.InvokeCount, 3, 60);
        Assert.Equal(discarded.InvokeCount, _invocationSizes.Count);
        Assert.Equal(SeqRange(0, 2), _finished);
    }

    [Fact]
    public async Task Given_an_on_failure_destination_that_fails_twice_When_a_batch_is_discarded_Then_its_records_finish_only_once_the_description_is_delivered()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j1" ? new TransientJobException("down") : null };
        var sink = new RecordingSink { FailuresBeforeSuccess = 2 };
        StreamBatchInvoker lane = Lane(function, Failure(report: true, retries: 0), sink);

        Task processing = lane.ProcessAsync(BatchOf(3), () => false, default);
        await Wait.UntilAsync(() => sink.Attempts == 1, "the first delivery attempt");

        // The record before the failure is done; the failed rest waits for the destination.
        Assert.Equal(Seqs(0), _finished);
        Assert.False(processing.IsCompleted);

        await DriveAsync(processing);

        Assert.Equal(3, sink.Attempts);
        DiscardedBatch discarded = Assert.Single(sink.Delivered);
        Assert.Equal(SeqRange(1, 2), discarded.Records.Select(r => r.Id));
        Assert.Equal(SeqRange(0, 3), _finished);
        Assert.Equal(2, _stats.OnFailureDestinationDeliveredEventCount);

        // The function is not invoked again while the description is redelivered.
        Assert.Equal(1, function.Calls.Count(c => c == "j1"));
    }

    [Fact]
    public async Task Given_the_mapping_stops_while_a_failed_rest_waits_for_its_retry_Then_that_rest_is_left_unfinished_for_the_next_owner()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j2" ? new TransientJobException("down") : null };
        bool stopping = false;
        StreamBatchInvoker lane = Lane(function, Failure(report: true), sink: new RecordingSink());

        Task processing = lane.ProcessAsync(BatchOf(5), () => stopping, default);
        await Wait.UntilAsync(() => _invocationSizes.Count == 1, "the first invocation to end");
        stopping = true;
        await DriveAsync(processing);

        Assert.Equal(SeqRange(0, 2), _finished);
        Assert.Single(function.Calls, c => c == "j2");
        Assert.Equal(0, _stats.DroppedEventCount);

        // j3 and j4 came back unstarted from the invocation; the failed rest (j2..j4) is released when it is left.
        Assert.Equal(2 + 3, _stats.ReleasedEventCount);
    }

    [Fact]
    public async Task Given_a_long_retry_backoff_When_the_mapping_stops_during_it_Then_the_lane_returns_without_waiting_the_backoff_out()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j1" ? new TransientJobException("down") : null };
        bool stopping = false;
        StreamFailureOptions slow = Failure(report: true) with { RetryBaseDelay = TimeSpan.FromSeconds(20), RetryMaxDelay = TimeSpan.FromSeconds(30) };

        Task processing = Lane(function, slow, sink: null).ProcessAsync(BatchOf(3), () => stopping, default);
        await Wait.UntilAsync(() => _invocationSizes.Count == 1, "the first invocation to end");
        stopping = true;

        // The backoff is at least 10 s; a stop is noticed within 100 ms of (fake) time.
        for (int i = 0; i < 20 && !processing.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(1);
        }

        Assert.True(processing.IsCompleted, "the lane kept waiting its retry backoff after the mapping stopped");
        await processing;
        Assert.Equal(Seqs(0), _finished);
        Assert.Single(function.Calls, c => c == "j1");
    }

    [Fact]
    public async Task Given_the_mapping_stops_while_the_destination_refuses_Then_the_discarded_records_stay_unfinished()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j1" ? new TransientJobException("down") : null };
        var sink = new RecordingSink { FailuresBeforeSuccess = int.MaxValue };
        bool stopping = false;

        Task processing = Lane(function, Failure(report: true, retries: 0), sink).ProcessAsync(BatchOf(3), () => stopping, default);
        await Wait.UntilAsync(() => sink.Attempts >= 1, "a delivery attempt");
        stopping = true;
        await DriveAsync(processing);

        Assert.Equal(Seqs(0), _finished);
        Assert.Empty(sink.Delivered);
        Assert.Equal(0, _stats.DroppedEventCount);
        Assert.Equal(0, _stats.OnFailureDestinationDeliveredEventCount);
    }

    [Fact]
    public async Task Given_no_on_failure_destination_When_a_batch_is_discarded_Then_its_records_are_counted_as_dropped_and_finished()
    {
        var function = new ScriptFunction { Fail = (job, _) => job == "j0" ? new TransientJobException("down") : null };

        await DriveAsync(Lane(function, Failure(retries: 1), sink: null).ProcessAsync(BatchOf(4), () => false, default));

        Assert.Equal(4, _stats.DroppedEventCount);
        Assert.Equal(0, _stats.OnFailureDestinationDeliveredEventCount);
        Assert.Equal(SeqRange(0, 4), _finished);
        Assert.Equal([4, 4], _invocationSizes);
    }

    [Fact]
    public async Task Given_a_record_that_is_not_a_job_When_processed_Then_it_fails_without_calling_the_function_and_is_discarded_with_the_decoder_error()
    {
        var function = new ScriptFunction();
        var sink = new RecordingSink();
        Batch good = BatchOf(3);
        DecodedRecord bad = TestRecords.Decoded(new SourceRecord
        {
            Id = Seq(1),
            PartitionKey = "key-1",
            Body = Encoding.UTF8.GetBytes("not json"),
            Source = "arn:aws:kinesis:us-east-1:000000000000:stream/test",
            SentAt = _time.GetUtcNow(),
        });
        var batch = new Batch(0, [good.Items[0], bad, good.Items[2]], good.PayloadBytes, BatchCutReason.BatchSizeReached);

        await DriveAsync(Lane(function, Failure(report: true, retries: 0), sink).ProcessAsync(batch, () => false, default));

        DiscardedBatch discarded = Assert.Single(sink.Delivered);
        Assert.Equal(SeqRange(1, 2), discarded.Records.Select(r => r.Id));
        Assert.Contains("not valid JSON", discarded.LastError, StringComparison.Ordinal);
        Assert.Contains(Seq(1), discarded.LastError, StringComparison.Ordinal);
        Assert.Equal(["j0"], function.Calls);
        Assert.Equal(SeqRange(0, 3), _finished);
    }

    /// <summary>Fails the calls <see cref="Fail"/> picks by job id and attempt (1-based per job); records every call in order.</summary>
    [Fact]
    public async Task Given_a_record_claimed_by_another_live_host_When_processed_with_no_retries_allowed_Then_it_waits_for_the_claim_instead_of_being_discarded()
    {
        // The shard's previous owner still holds j2's claim (a failover): that is not a function error.
        var claims = await _store.TryClaimAsync([new ClaimRequest("j2", "previous-owner/9/9/z", _time.GetUtcNow() + TimeSpan.FromSeconds(3), Seq(2))], _time.GetUtcNow(), default);
        Assert.Equal(ClaimStatus.Claimed, claims[0].Status);
        var function = new ScriptFunction();
        var sink = new RecordingSink();

        await DriveAsync(Lane(function, Failure(report: true, retries: 0), sink).ProcessAsync(BatchOf(4), () => false, default));

        Assert.Empty(sink.Delivered);
        Assert.Equal(0, _stats.DroppedEventCount);
        Assert.Equal(SeqRange(0, 4), _finished);
        Assert.Equal(["j0", "j1", "j2", "j3"], function.Calls);
        Assert.True(_stats.DeferredEventCount >= 1, "j2 was deferred at least once while the other claim lived");
    }

    private sealed class ScriptFunction : IJobFunction
    {
        private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<string> _calls = new();

        public Func<string, int, Exception?> Fail { get; init; } = (_, _) => null;

        public IReadOnlyList<string> Calls => [.. _calls];

        public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
        {
            string id = job.JobId!;
            _calls.Enqueue(id);
            int attempt = _attempts.AddOrUpdate(id, 1, (_, n) => n + 1);
            return Fail(id, attempt) is { } failure
                ? ValueTask.FromException<JobOutput>(failure)
                : ValueTask.FromResult(new JobOutput("out/" + id));
        }
    }

    /// <summary>An on-failure destination that refuses the first <see cref="FailuresBeforeSuccess"/> deliveries.</summary>
    private sealed class RecordingSink : IDiscardedBatchSink
    {
        private int _attempts;

        public int FailuresBeforeSuccess { get; init; }

        public ConcurrentQueue<DiscardedBatch> Delivered { get; } = new();

        public int Attempts => Volatile.Read(ref _attempts);

        public ValueTask DeliverAsync(DiscardedBatch batch, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _attempts) <= FailuresBeforeSuccess)
            {
                return ValueTask.FromException(new InvalidOperationException("destination unavailable"));
            }

            Delivered.Enqueue(batch);
            return ValueTask.CompletedTask;
        }
    }
}
