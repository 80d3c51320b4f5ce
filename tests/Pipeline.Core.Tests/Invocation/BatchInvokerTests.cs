using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Invocation;

public sealed class BatchInvokerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryIdempotencyStore _store = new();
    private readonly RecordingAcknowledger _ack = new();
    private readonly MappingStatistics _stats = new();

    private BatchInvoker Invoker(IJobFunction function, InvokerOptions? options = null, string owner = "host/1/1/a", IOwnerLiveness? liveness = null, RecordingAcknowledger? ack = null)
    {
        options ??= InvokerOptions.Default;
        var guard = new IdempotencyGuard(_store, owner, liveness ?? FakeLiveness.NobodyDies, _time, options.ClaimLease);
        return new BatchInvoker(function, guard, ack ?? _ack, options, BatchingOptions.ForSqs(), _time, _stats, NullLogger.Instance, new Random(7));
    }

    private static Batch BatchOf(params DecodedRecord[] records) =>
        new(0, records, records.Sum(r => r.Record.PayloadBytes), BatchCutReason.NoWindow);

    [Fact]
    public async Task Given_a_valid_job_When_invoked_Then_it_succeeds_and_the_claim_is_completed_with_its_location()
    {
        var function = new ScriptedFunction();
        DecodedRecord job = TestRecords.Job("a.jpg", "job-a");

        IReadOnlyList<ItemResult> results = await Invoker(function).InvokeAsync(BatchOf(job), default);

        ItemResult result = Assert.Single(results);
        Assert.Equal(ItemOutcome.Succeeded, result.Outcome);
        Assert.Equal("out/a.jpg", result.ResultLocation);
        IdempotencyRecord? stored = await _store.GetAsync("job-a", default);
        Assert.Equal(IdempotencyStatus.Completed, stored?.Status);
        Assert.Equal("out/a.jpg", stored?.ResultLocation);
    }

    [Fact]
    public async Task Given_a_body_that_is_not_a_job_When_invoked_Then_it_fails_permanently_naming_the_problem_without_calling_the_function()
    {
        var function = new ScriptedFunction();
        DecodedRecord bad = TestRecords.Decoded(TestRecords.Record("""{"destination":"x.png"}"""));

        ItemResult result = Assert.Single(await Invoker(function).InvokeAsync(BatchOf(bad), default));

        Assert.Equal(ItemOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("missing required property 'source'", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_completed_job_When_a_duplicate_message_arrives_Then_it_is_skipped_without_running()
    {
        var function = new ScriptedFunction();
        BatchInvoker invoker = Invoker(function);
        await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "job-a")), default);

        ItemResult again = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "job-a")), default));

        Assert.Equal(ItemOutcome.Skipped, again.Outcome);
        Assert.Equal("out/a.jpg", again.ResultLocation);
        Assert.Equal(1, function.TotalCalls);
    }

    [Fact]
    public async Task Given_two_copies_of_a_job_in_one_batch_When_invoked_Then_the_function_runs_once()
    {
        var function = new ScriptedFunction();

        IReadOnlyList<ItemResult> results = await Invoker(function).InvokeAsync(
            BatchOf(TestRecords.Job("a.jpg"), TestRecords.Job("b.jpg"), TestRecords.Job("a.jpg")), default);

        Assert.Equal([ItemOutcome.Succeeded, ItemOutcome.Succeeded, ItemOutcome.Skipped], results.Select(r => r.Outcome));
        Assert.Equal(2, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_permanent_failure_When_the_same_message_is_received_again_Then_it_fails_fast_with_the_first_reason()
    {
        var function = new ScriptedFunction((_, _, _) => throw new PermanentJobException("image is truncated"));
        BatchInvoker invoker = Invoker(function);
        SourceRecord first = TestRecords.Record("""{"jobId":"j","source":"bad.jpg"}""", id: "msg-1");

        ItemResult r1 = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Decoded(first)), default));
        SourceRecord redelivered = TestRecords.Record("""{"jobId":"j","source":"bad.jpg"}""", id: "msg-1", receiveCount: 2);
        ItemResult r2 = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Decoded(redelivered)), default));

        Assert.Equal(ItemOutcome.PermanentFailure, r1.Outcome);
        Assert.Equal(ItemOutcome.PermanentFailure, r2.Outcome);
        Assert.Equal("image is truncated", r2.Reason);
        Assert.Equal(TimeSpan.Zero, r2.Delay);
        Assert.Equal(1, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_permanent_failure_When_a_new_message_for_the_job_arrives_Then_it_starts_fresh()
    {
        int calls = 0;
        var function = new ScriptedFunction((job, _, _) => ++calls == 1
            ? throw new PermanentJobException("broken")
            : ValueTask.FromResult(new JobOutput("fixed")));
        BatchInvoker invoker = Invoker(function);

        await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j", id: "msg-1")), default);
        ItemResult second = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j", id: "msg-2")), default));

        Assert.Equal(ItemOutcome.Succeeded, second.Outcome);
        Assert.Equal(2, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_changed_source_identity_When_a_completed_job_arrives_again_Then_it_runs_again()
    {
        string etag = "v1";
        var function = new ScriptedFunction { Identity = _ => ValueTask.FromResult<string?>(etag) };
        BatchInvoker invoker = Invoker(function);

        await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default);
        ItemResult same = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default));
        etag = "v2";
        ItemResult changed = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default));

        Assert.Equal(ItemOutcome.Skipped, same.Outcome);
        Assert.Equal(ItemOutcome.Succeeded, changed.Outcome);
        Assert.Equal(2, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_job_run_against_two_source_identities_When_its_records_are_looked_up_by_job_key_Then_both_carry_it()
    {
        string etag = "v1";
        var function = new ScriptedFunction { Identity = _ => ValueTask.FromResult<string?>(etag) };
        BatchInvoker invoker = Invoker(function);

        await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default);
        etag = "v2";
        _time.Advance(TimeSpan.FromSeconds(1));
        await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default);

        IReadOnlyList<IdempotencyRecord> found = await _store.FindByJobKeyAsync("j", default);
        Assert.Equal(["j#v2", "j#v1"], found.Select(r => r.Key));
        Assert.All(found, r => Assert.Equal(("j", IdempotencyStatus.Completed), (r.JobKey, r.Status)));
    }

    [Fact]
    public async Task Given_a_live_claim_of_another_owner_When_the_job_arrives_Then_it_is_deferred_until_the_claim_expires()
    {
        DateTimeOffset now = _time.GetUtcNow();
        await _store.TryClaimAsync([new ClaimRequest("j", "other/9/9/x", now + TimeSpan.FromSeconds(12), "msg-0")], now, default);
        var function = new ScriptedFunction();

        ItemResult result = Assert.Single(await Invoker(function).InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default));

        Assert.Equal(ItemOutcome.Deferred, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(13), result.Delay);
        Assert.Equal(0, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_claim_of_an_owner_known_dead_When_the_job_arrives_Then_it_is_taken_over_at_once()
    {
        DateTimeOffset now = _time.GetUtcNow();
        await _store.TryClaimAsync([new ClaimRequest("j", "host/424242/1/dead", now + TimeSpan.FromMinutes(5), "msg-0")], now, default);
        var function = new ScriptedFunction();
        var liveness = new FakeLiveness(owner => owner == "host/424242/1/dead");

        ItemResult result = Assert.Single(await Invoker(function, liveness: liveness).InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default));

        Assert.Equal(ItemOutcome.Succeeded, result.Outcome);
        Assert.Equal(1, function.TotalCalls);
    }

    [Fact]
    public async Task Given_a_dead_owner_on_another_host_When_its_lease_lapses_Then_the_claim_can_be_taken()
    {
        DateTimeOffset now = _time.GetUtcNow();
        await _store.TryClaimAsync([new ClaimRequest("j", "elsewhere/1/1/x", now + TimeSpan.FromSeconds(15), "msg-0")], now, default);
        var function = new ScriptedFunction();
        BatchInvoker invoker = Invoker(function);

        ItemResult before = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default));
        _time.Advance(TimeSpan.FromSeconds(16));
        ItemResult after = Assert.Single(await invoker.InvokeAsync(BatchOf(TestRecords.Job("a.jpg", "j")), default));

        Assert.Equal(ItemOutcome.Deferred, before.Outcome);
        Assert.Equal(ItemOutcome.Succeeded, after.Outcome);
    }

    [Fact]
    public async Task Given_transient_failures_When_retried_without_jitter_Then_Polly_waits_200_400_800_ms_on_the_injected_clock()
    {
        var callTimes = new List<DateTimeOffset>();
        var function = new ScriptedFunction((_, ctx, _) =>
        {
            lock (callTimes)
            {
                callTimes.Add(_time.GetUtcNow());
            }

            return ctx.Attempt <= 3 ? throw new TransientJobException("S3 throttled") : ValueTask.FromResult(new JobOutput("ok"));
        });
        var options = InvokerOptions.Default with { RetryJitter = false, RetryAttempts = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(200) };
        Task<IReadOnlyList<ItemResult>> run = Invoker(function, options).InvokeAsync(BatchOf(TestRecords.Job("a.jpg")), default);

        foreach ((int calls, int delayMs) in new[] { (1, 200), (2, 400), (3, 800) })
        {
            await Wait.UntilAsync(() => function.TotalCalls == calls, $"call {calls}");
            _time.Advance(TimeSpan.FromMilliseconds(delayMs - 1));
            Assert.Equal(calls, function.TotalCalls); // not a moment early
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        ItemResult result = Assert.Single(await run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ItemOutcome.Succeeded, result.Outcome);
        Assert.Equal([200, 400, 800], callTimes.Zip(callTimes.Skip(1), (a, b) => (int)(b - a).TotalMilliseconds));
    }

    [Fact]
    public async Task Given_transient_failures_When_retried_with_jitter_Then_every_delay_stays_within_the_cap()
    {
        var callTimes = new List<DateTimeOffset>();
        var function = new ScriptedFunction((_, ctx, _) =>
        {
            lock (callTimes)
            {
                callTimes.Add(_time.GetUtcNow());
            }

            return ctx.Attempt <= 3 ? throw new TransientJobException("network blip") : ValueTask.FromResult(new JobOutput("ok"));
        });
        var options = InvokerOptions.Default with { RetryAttempts = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(200), RetryMaxDelay = TimeSpan.FromSeconds(1) };
        Task<IReadOnlyList<ItemResult>> run = Invoker(function, options).InvokeAsync(BatchOf(TestRecords.Job("a.jpg")), default);

        for (int step = 0; step < 200 && !run.IsCompleted; step++)
        {
            int calls = function.TotalCalls;
            _time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Yield();
            if (calls < 4)
            {
                await Wait.UntilAsync(() => run.IsCompleted || function.TotalCalls >= calls, "progress");
            }
        }

        ItemResult result = Assert.Single(await run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ItemOutcome.Succeeded, result.Outcome);
        var gaps = callTimes.Zip(callTimes.Skip(1), (a, b) => b - a).ToList();
        Assert.Equal(3, gaps.Count);
        Assert.All(gaps, g => Assert.InRange(g, TimeSpan.Zero, TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(10)));
    }

    [Fact]
    public async Task Given_a_permanent_exception_When_invoked_Then_it_is_not_retried_in_process()
    {
        var function = new ScriptedFunction((_, _, _) => throw new PermanentJobException("path escapes its root"));

        ItemResult result = Assert.Single(await Invoker(function).InvokeAsync(BatchOf(TestRecords.Job("../etc/passwd")), default));

        Assert.Equal(ItemOutcome.PermanentFailure, result.Outcome);
        Assert.Equal("path escapes its root", result.Reason);
        Assert.Equal(1, function.TotalCalls);
    }

    [Fact]
    public async Task Given_an_unexpected_exception_When_invoked_Then_it_goes_back_to_the_source_with_backoff_by_receive_count()
    {
        var function = new ScriptedFunction((_, _, _) => throw new InvalidOperationException("model session broke"));
        var options = InvokerOptions.Default with { SourceBackoffBase = TimeSpan.FromSeconds(2) };

        ItemResult result = Assert.Single(await Invoker(function, options).InvokeAsync(BatchOf(TestRecords.Job("a.jpg", receiveCount: 3)), default));

        Assert.Equal(ItemOutcome.Retry, result.Outcome);
        Assert.Contains("InvalidOperationException: model session broke", result.Reason, StringComparison.Ordinal);
        Assert.InRange(result.Delay, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)); // 2 s x 2^(3-1), equal jitter
        Assert.Equal(1, function.TotalCalls);
        Assert.Null(await _store.GetAsync(TestRecords.Job("a.jpg").Job!.Key, default)); // claim released for the retry
    }

    [Fact]
    public async Task Given_a_call_that_eats_the_visibility_budget_When_it_fails_transiently_Then_no_retry_starts_past_the_budget()
    {
        var ack = new RecordingAcknowledger(TimeSpan.FromSeconds(10));
        var function = new ScriptedFunction((_, _, _) =>
        {
            _time.Advance(TimeSpan.FromSeconds(8)); // the call itself takes 8 s of the 10 s visibility
            throw new TransientJobException("timeout talking to S3");
        });
        var options = InvokerOptions.Default with { RetryAttempts = 3, RetryMaxDelay = TimeSpan.FromSeconds(3) };

        ItemResult result = Assert.Single(await Invoker(function, options, ack: ack).InvokeAsync(BatchOf(TestRecords.Job("a.jpg")), default));

        Assert.Equal(ItemOutcome.Retry, result.Outcome);
        Assert.Equal(1, function.TotalCalls);
    }

    [Fact]
    public void Given_retries_that_could_outlast_the_visibility_timeout_When_validated_Then_they_are_refused()
    {
        var options = InvokerOptions.Default with { RetryAttempts = 10, RetryMaxDelay = TimeSpan.FromSeconds(5) };

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate(TimeSpan.FromSeconds(30)));

        Assert.Equal("RetryAttempts", ex.ParamName);
        Assert.Contains("visibility timeout of 30 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_StopOnFirstFailure_When_a_record_fails_Then_later_records_are_returned_unstarted()
    {
        var function = new ScriptedFunction((job, _, _) => job.Source == "b.jpg"
            ? throw new PermanentJobException("bad")
            : ValueTask.FromResult(new JobOutput(job.Source)));
        var options = InvokerOptions.Default with { StopOnFirstFailure = true };

        IReadOnlyList<ItemResult> results = await Invoker(function, options).InvokeAsync(
            BatchOf(TestRecords.Job("a.jpg", id: "A"), TestRecords.Job("b.jpg", id: "B"), TestRecords.Job("c.jpg", id: "C"), TestRecords.Job("d.jpg", id: "D")), default);

        Assert.Equal([ItemOutcome.Succeeded, ItemOutcome.PermanentFailure, ItemOutcome.Released, ItemOutcome.Released], results.Select(r => r.Outcome));
        Assert.Equal(2, function.TotalCalls);
        Assert.Null(await _store.GetAsync(TestRecords.Job("c.jpg").Job!.Key, default));
        Assert.Equal(["B", "C", "D"], BatchItemFailuresResponse.From(results).BatchItemFailures.Select(f => f.ItemIdentifier));
    }

    [Fact]
    public async Task Given_a_long_running_record_When_heartbeats_tick_Then_its_claim_and_visibility_are_renewed()
    {
        var gate = new TaskCompletionSource<JobOutput>(TaskCreationOptions.RunContinuationsAsynchronously);
        var function = new ScriptedFunction((_, _, _) => new ValueTask<JobOutput>(gate.Task));
        var options = InvokerOptions.Default with { ClaimLease = TimeSpan.FromSeconds(15), HeartbeatInterval = TimeSpan.FromSeconds(5) };
        BatchInvoker invoker = Invoker(function, options);
        var batches = System.Threading.Channels.Channel.CreateUnbounded<Batch>();
        DecodedRecord job = TestRecords.Job("slow.jpg", "slow");
        batches.Writer.TryWrite(BatchOf(job));
        batches.Writer.TryComplete();

        Task run = invoker.RunAsync(batches.Reader, () => false, _ => { }, default);
        await Wait.UntilAsync(() => function.TotalCalls == 1, "function started");
        DateTimeOffset? firstExpiry = (await _store.GetAsync("slow", default))!.Expiry;

        for (int beat = 1; beat <= 3; beat++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            await Wait.UntilAsync(() => _ack.Extended.Count >= beat, $"heartbeat {beat}");
        }

        await Wait.UntilAsync(() => _store.GetAsync("slow", default).AsTask().Result!.Expiry > firstExpiry + TimeSpan.FromSeconds(10), "claim renewed");
        gate.SetResult(new JobOutput("done"));
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        // 15 s of fake time passed: without renewal the 15 s lease would have lapsed.
        Assert.Equal(IdempotencyStatus.Completed, (await _store.GetAsync("slow", default))!.Status);
        Assert.Equal(ItemOutcome.Succeeded, Assert.Single(_ack.Acknowledged).Outcome);
    }

    [Fact]
    public async Task Given_a_stopping_host_When_a_batch_was_not_started_Then_it_is_released_not_run()
    {
        var function = new ScriptedFunction();
        var batches = System.Threading.Channels.Channel.CreateUnbounded<Batch>();
        batches.Writer.TryWrite(BatchOf(TestRecords.Job("a.jpg"), TestRecords.Job("b.jpg")));
        batches.Writer.TryComplete();
        int finished = 0;

        await Invoker(function).RunAsync(batches.Reader, () => true, n => finished += n, default);

        Assert.Equal(0, function.TotalCalls);
        Assert.Equal(2, _ack.Released.Count);
        Assert.Equal(2, finished);
    }
}
