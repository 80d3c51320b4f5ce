using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws.Sqs;
using Pipeline.Aws.Tests.Sqs.Fakes;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Testing.Emulators;
using static Pipeline.Aws.Tests.Sqs.Fakes.SqsTestKit;
using Wait = Pipeline.Testing.Wait;
using Pipeline.Testing.Mappings;

namespace Pipeline.Aws.Tests.Sqs;

/// <summary>
/// The SQS source driven by the real <see cref="EventSourceMapping"/> against a real queue on each emulator, with
/// visibility timeouts of one or two seconds.
/// </summary>
public abstract class SqsRecordSourceContractTests(EmulatorFixture emulator)
{
    /// <summary>Whether DeleteMessageBatch reports a malformed receipt handle as a failed entry (AWS and moto do).</summary>
    protected abstract bool ReportsInvalidReceiptHandles { get; }

    /// <summary>
    /// ReceiveMessage calls the source may keep outstanding on this emulator. moto 5.2.1 picks visible messages without
    /// a lock, so receives side by side can both be handed one message: an at-least-once duplicate that the pipeline
    /// absorbs, but that breaks the exact counts these tests assert. Only the side-by-side receive test runs them on
    /// every emulator, and it counts distinct messages.
    /// </summary>
    protected virtual int? MaxConcurrentReceives => null;

    private IAmazonSQS Sqs() => emulator.Endpoint.CreateSqs();

    private SqsSourceOptions Options(SqsQueueInfo queue) => MaxConcurrentReceives is int most
        ? SqsTestKit.Options(queue) with { MaxConcurrentReceives = most }
        : SqsTestKit.Options(queue);

    private static Task RunUntilAsync(EventSourceMapping mapping, Func<Task<bool>> done, string what) =>
        MappingRun.UntilAsync(mapping, done, what, Bound);

    [Fact]
    public async Task Given_a_job_that_always_fails_When_the_mapping_runs_Then_it_moves_to_the_DLQ_after_exactly_five_receives()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo dlq = await CreateQueueAsync(sqs, Unique("dlq"));
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("jobs"), visibilitySeconds: 2, deadLetter: dlq, maxReceiveCount: 5);
        Assert.Equal(5, queue.RedrivePolicy!.MaxReceiveCount);
        await SendJobsAsync(sqs, queue, [Job("always-fails")]);

        var dlqCountAtFifth = new ConcurrentQueue<int>();
        var function = new ScriptedJobFunction(async (_, ctx, _) =>
        {
            if (ctx.ReceiveCount == 5)
            {
                (int visible, int inFlight) = await CountAsync(sqs, dlq.Url);
                dlqCountAtFifth.Enqueue(visible + inFlight);
            }

            throw new InvalidOperationException($"scripted failure on receive {ctx.ReceiveCount}");
        });
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        EventSourceMapping mapping = Mapping(source, function, SqsMappingDefaults.For(false, concurrency: 2, invoker: FastInvoker));

        await RunUntilAsync(mapping, async () => (await CountAsync(sqs, dlq.Url)).Visible == 1, "the message in the DLQ");

        Assert.Equal([1, 2, 3, 4, 5], function.Calls.Select(c => c.Context.ReceiveCount).ToArray());
        Assert.Equal([0], dlqCountAtFifth.ToArray());
        Assert.Equal((0, 0), await CountAsync(sqs, queue.Url));
        Message dead = Assert.Single(await ReceiveAllAsync(sqs, dlq.Url, 1));
        Assert.Equal(Job("always-fails"), dead.Body);
        // Received five times from the source; the DLQ's own receive counts on top.
        Assert.True(int.Parse(dead.Attributes["ApproximateReceiveCount"], CultureInfo.InvariantCulture) > 5, $"DLQ receive count {dead.Attributes["ApproximateReceiveCount"]}");
        Assert.Equal(5, mapping.Statistics.RetriedEventCount);
    }

    [Fact]
    public async Task Given_bodies_that_are_not_jobs_When_the_mapping_runs_Then_they_fail_with_a_clear_error_and_reach_the_DLQ_after_five_receives()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo dlq = await CreateQueueAsync(sqs, Unique("dlq"));
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("poison"), visibilitySeconds: 2, deadLetter: dlq);
        string[] poison = ["this is not JSON", """{"jobId":"no-source"}"""];
        await SendJobsAsync(sqs, queue, poison);
        var function = ScriptedJobFunction.NoOp();
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        EventSourceMapping mapping = Mapping(source, function, SqsMappingDefaults.For(false, invoker: FastInvoker));

        await RunUntilAsync(mapping, async () => (await CountAsync(sqs, dlq.Url)).Visible == 2, "both poison messages in the DLQ");

        Assert.Empty(function.Calls);
        Assert.Equal(10, mapping.Statistics.PermanentFailureEventCount); // 2 messages x 5 receives, each a clear permanent failure
        List<Message> dead = await ReceiveAllAsync(sqs, dlq.Url, 2);
        Assert.Equal(poison.Order(StringComparer.Ordinal), dead.Select(m => m.Body).Order(StringComparer.Ordinal));
        Assert.All(dead, m => Assert.True(int.Parse(m.Attributes["ApproximateReceiveCount"], CultureInfo.InvariantCulture) > 5));

        // The reasons the invoker gives (and logs) name what is wrong with each body.
        Assert.False(JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(poison[0]), out _, out string? notJson));
        Assert.False(JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(poison[1]), out _, out string? noSource));
        Assert.Contains("JSON", notJson, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("source", noSource, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_batch_with_two_failures_When_it_is_acknowledged_Then_only_the_failed_messages_stay_on_the_queue()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("partial"), visibilitySeconds: 2);
        await SendJobsAsync(sqs, queue, Enumerable.Range(0, 10).Select(i => Job($"p{i}")));
        var function = new ScriptedJobFunction((job, _, _) =>
            job.JobId is "p3" or "p7" ? throw new TransientJobException($"scripted failure of {job.JobId}") : ValueTask.FromResult(new JobOutput(null)));
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        EventSourceMapping mapping = Mapping(source, function, SqsMappingDefaults.For(false, concurrency: 1, invoker: FastInvoker));

        await RunUntilAsync(mapping, () => Task.FromResult(mapping.Statistics.SucceededEventCount == 8 && mapping.Statistics.RetriedEventCount >= 2), "8 successes and 2 failures");
        // fauxqs moves an expired message back to "visible" only when it is next received, so either count is fine here.
        await Wait.UntilAsync(async () => await CountAsync(sqs, queue.Url) is (2, 0) or (0, 2), "only the two failed messages on the queue", Bound);

        List<Message> left = await ReceiveAllAsync(sqs, queue.Url, 2);
        Assert.Equal(["p3", "p7"], left.Select(m => m.Body).Select(b => b.Contains("p3", StringComparison.Ordinal) ? "p3" : b.Contains("p7", StringComparison.Ordinal) ? "p7" : b).Order(StringComparer.Ordinal));
        Assert.Equal(0, source.StaleAcknowledgements + source.FailedAcknowledgements);
    }

    [Fact]
    public async Task Given_a_job_that_outlives_the_visibility_timeout_When_it_runs_Then_the_heartbeat_keeps_it_from_being_redelivered()
    {
        using IAmazonSQS sqs = Sqs();
        // 2 s, not 1 s: the heartbeat extends every 300 ms (FastInvoker), and with 1 s a loaded CI machine (test
        // assemblies side by side on 2 cores) once stalled past the 700 ms margin and the message reappeared.
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("heartbeat"), visibilitySeconds: 2);
        await SendJobsAsync(sqs, queue, [Job("slow")]);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Stopwatch.StartNew();
        var function = new ScriptedJobFunction(async (_, _, ct) =>
        {
            running.Restart();
            await finish.Task.WaitAsync(ct);
            return new JobOutput(null);
        });
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        Assert.Equal(TimeSpan.FromSeconds(2), source.VisibilityTimeout);
        EventSourceMapping mapping = Mapping(source, function, SqsMappingDefaults.For(false, concurrency: 3, invoker: FastInvoker));

        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => !function.Calls.IsEmpty, "the job started", Bound);
        // Three visibility timeouts pass while the job runs; another consumer must see nothing.
        await Wait.UntilAsync(() => running.Elapsed > TimeSpan.FromSeconds(6), "three visibility timeouts", Bound);
        ReceiveMessageResponse spy = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queue.Url, MaxNumberOfMessages = 10, WaitTimeSeconds = 0 });
        Assert.Empty(spy.Messages ?? []);
        Assert.Equal(1, mapping.Statistics.PolledEventCount);
        finish.SetResult();
        await Wait.UntilAsync(async () => await CountAsync(sqs, queue.Url) == (0, 0), "the job deleted", Bound);
        await stop.CancelAsync();
        await run.WaitAsync(Bound);

        Assert.Single(function.Calls);
        Assert.Equal(1, mapping.Statistics.SucceededEventCount);
    }

    [Fact]
    public async Task Given_a_FIFO_queue_When_a_message_fails_Then_its_group_stops_there_and_keeps_its_order()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("order"), visibilitySeconds: 2, fifo: true);
        Assert.True(queue.IsFifo);
        var sender = new SqsJobSender(sqs, queue);
        var messages = new List<SqsOutgoingMessage>();
        for (int i = 0; i < 5; i++)
        {
            foreach (string group in new[] { "a", "b" })
            {
                messages.Add(new SqsOutgoingMessage(Job($"{group}{i}")) { JobId = $"{group}{i}", MessageGroupId = group });
            }
        }

        await sender.SendAsync(messages);
        bool failedOnce = false;
        var function = new ScriptedJobFunction((job, _, _) =>
        {
            if (job.JobId == "a2" && !failedOnce)
            {
                failedOnce = true;
                throw new TransientJobException("scripted failure of a2");
            }

            return ValueTask.FromResult(new JobOutput(null));
        });
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        MappingOptions options = SqsMappingDefaults.For(source, concurrency: 2, invoker: FastInvoker);
        Assert.True(options.Invoker.StopOnFirstFailure);
        Assert.Equal(Pipeline.Core.Lanes.LaneKeySource.PartitionKey, options.LaneKey);
        EventSourceMapping mapping = Mapping(source, function, options);

        await RunUntilAsync(mapping, () => Task.FromResult(mapping.Statistics.SucceededEventCount == 10), "all ten jobs done");

        string[] a = function.Calls.Select(c => c.Job.JobId!).Where(id => id[0] == 'a').ToArray();
        string[] b = function.Calls.Select(c => c.Job.JobId!).Where(id => id[0] == 'b').ToArray();
        Assert.Equal(["a0", "a1", "a2", "a2", "a3", "a4"], a); // a2 fails once; a3 and a4 wait for it
        Assert.Equal(["b0", "b1", "b2", "b3", "b4"], b);
        Assert.Equal(1, mapping.Statistics.RetriedEventCount);
        Assert.True(mapping.Statistics.ReleasedEventCount >= 1, "the messages after a2 in its batch were given back unstarted");
        Assert.Equal((0, 0), await CountAsync(sqs, queue.Url));
    }

    [Fact]
    public async Task Given_a_running_mapping_When_it_stops_Then_the_batch_in_flight_finishes_and_unstarted_messages_are_visible_at_once()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("shutdown"), visibilitySeconds: 30);
        await SendJobsAsync(sqs, queue, Enumerable.Range(0, 30).Select(i => Job($"s{i}")));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var function = new ScriptedJobFunction(async (_, _, _) =>
        {
            await gate.Task;
            return new JobOutput(null);
        });
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        EventSourceMapping mapping = Mapping(source, function, SqsMappingDefaults.For(false, concurrency: 1, invoker: FastInvoker) with { MaxRecordsPerPoll = 30 });

        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => !function.Calls.IsEmpty && mapping.Statistics.PolledEventCount == 30, "a batch running and everything polled", Bound);
        await stop.CancelAsync();
        gate.SetResult();
        await run.WaitAsync(Bound);

        // The batch in flight (up to 10: a receive may return fewer, and the window is 0) finishes; nothing else starts.
        long finished = mapping.Statistics.SucceededEventCount;
        Assert.InRange(finished, 1, 10);
        Assert.Equal(finished, function.Calls.Count);
        Assert.Equal(30 - finished, mapping.Statistics.ReleasedEventCount);
        // Visible again at once, although the visibility timeout is 30 s.
        Assert.Equal(((int)(30 - finished), 0), await CountAsync(sqs, queue.Url));
    }

    [Fact]
    public async Task Given_more_than_ten_wanted_When_receiving_Then_several_calls_run_side_by_side_and_records_carry_the_SQS_attributes()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("receive"), visibilitySeconds: 30);
        await new SqsJobSender(sqs, queue).SendAsync(Enumerable.Range(0, 35)
            .Select(i => new SqsOutgoingMessage(Job($"r{i}")) { Attributes = new Dictionary<string, string> { ["tenant"] = "t1" } }).ToList());
        await using var source = new SqsRecordSource(sqs, queue, SqsTestKit.Options(queue)); // side by side on every emulator

        // Receives side by side may both be given one message (at-least-once; moto 5.2.1 picks messages without a
        // lock), so count distinct messages: every one of the 35 arrives, and a duplicate is acknowledged like any other.
        var got = new List<SourceRecord>();
        int calls = 0;
        while (got.Select(r => r.Id).Distinct().Count() < 35 && calls++ < 50)
        {
            IReadOnlyList<SourceRecord> records = await source.ReceiveAsync(30, CancellationToken.None);
            Assert.True(records.Count <= 30);
            got.AddRange(records);
        }

        Assert.Equal(35, got.Select(r => r.Id).Distinct().Count());
        Assert.True(calls < 35 / 10 + 3, $"{calls} receive calls for 35 messages");
        // ApproximateReceiveCount comes through; an SDK retry of a receive the server had already served (a slow
        // emulator under load) can make it 2 for a few messages, never 0.
        Assert.All(got, r => Assert.InRange(r.ReceiveCount, 1, 2));
        Assert.Contains(got, r => r.ReceiveCount == 1);
        SourceRecord first = got[0];
        Assert.NotNull(first.SentAt);
        Assert.Equal("t1", first.Attributes["tenant"]);
        Assert.Equal(string.Empty, first.PartitionKey);
        Assert.Equal(source.Name, first.Source);
        Assert.NotNull(first.ReceiptHandle);

        await source.AcknowledgeAsync(got.Select(r => ItemResult.Success(r, null)).ToList(), CancellationToken.None);
        Assert.Equal((0, 0), await CountAsync(sqs, queue.Url));
    }

    [Fact]
    public async Task Given_an_invalid_receipt_handle_in_a_delete_batch_When_acknowledging_Then_nothing_crashes_and_the_valid_message_is_deleted()
    {
        using IAmazonSQS sqs = Sqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("stale"), visibilitySeconds: 30);
        await SendJobsAsync(sqs, queue, [Job("good")]);
        await using var source = new SqsRecordSource(sqs, queue, Options(queue));
        SourceRecord good = Assert.Single(await source.ReceiveAsync(10, CancellationToken.None));
        SourceRecord stale = new() { Id = "gone", Body = good.Body, Source = source.Name, ReceiptHandle = "not-a-receipt-handle" };

        await source.AcknowledgeAsync([ItemResult.Success(good, null), ItemResult.Success(stale, null)], CancellationToken.None);
        await source.ReleaseAsync([stale], CancellationToken.None);

        Assert.Equal((0, 0), await CountAsync(sqs, queue.Url));
        Assert.Equal(0, source.RetriedEntries);
        Assert.Equal(0, source.FailedAcknowledgements);
        // The release's ChangeMessageVisibilityBatch refuses it everywhere; the delete only where the server checks handles.
        Assert.Equal(ReportsInvalidReceiptHandles ? 2 : 1, source.StaleAcknowledgements);
    }

    [Fact]
    public async Task Given_delete_entries_failed_on_the_server_side_When_acknowledging_Then_they_are_retried_with_backoff_and_then_given_up_without_crashing()
    {
        using IAmazonSQS real = Sqs();
        (IAmazonSQS sqs, FaultySqs faults) = FaultySqs.Wrap(real);
        SqsQueueInfo queue = await CreateQueueAsync(real, Unique("retry"), visibilitySeconds: 30);
        await SendJobsAsync(real, queue, Enumerable.Range(0, 12).Select(i => Job($"d{i}")));
        await using var source = new SqsRecordSource(sqs, queue, Options(queue) with { EntryRetryBaseDelay = TimeSpan.FromMilliseconds(10), EntryRetryAttempts = 3 });
        var got = new List<SourceRecord>();
        while (got.Count < 12)
        {
            got.AddRange(await source.ReceiveAsync(20, CancellationToken.None));
        }

        // Two chunks (10 + 2); both fail once, then go through.
        faults.FailDeletes = 2;
        await source.AcknowledgeAsync(got.Select(r => ItemResult.Success(r, null)).ToList(), CancellationToken.None);
        Assert.Equal(12, source.RetriedEntries);
        Assert.Equal(0, source.FailedAcknowledgements);
        Assert.Equal(4, faults.DeleteCalls);
        Assert.Equal((0, 0), await CountAsync(sqs, queue.Url));

        // A failure that outlasts every attempt is logged and counted; the message stays and will simply reappear.
        await SendJobsAsync(real, queue, [Job("stuck")]);
        SourceRecord stuck = Assert.Single(await source.ReceiveAsync(10, CancellationToken.None));
        faults.FailDeletes = 100;
        await source.AcknowledgeAsync([ItemResult.Success(stuck, null)], CancellationToken.None);
        Assert.Equal(1, source.FailedAcknowledgements);
        Assert.Equal((0, 1), await CountAsync(sqs, queue.Url));
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class SqsRecordSourceOnMoto(MotoFixture f) : SqsRecordSourceContractTests(f)
{
    protected override bool ReportsInvalidReceiptHandles => true;

    protected override int? MaxConcurrentReceives => 1;
}

[Collection(EmulatorCollections.Fauxqs)]
public sealed class SqsRecordSourceOnFauxqs(FauxqsFixture f) : SqsRecordSourceContractTests(f)
{
    // fauxqs answers DeleteMessageBatch with success for any handle ("AWS succeeds silently for invalid receipt handles").
    protected override bool ReportsInvalidReceiptHandles => false;
}
