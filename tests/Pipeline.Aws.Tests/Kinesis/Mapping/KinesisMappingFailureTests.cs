using System.Text.Json;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Aws.Tests.DynamoDb;
using Pipeline.Aws.Tests.Emulators;
using Pipeline.Core.Batching;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Streams;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Kinesis.Mapping;

/// <summary>
/// The failure half of the Kinesis mapping end to end: kinesalite for the stream, moto_server for the lease table and
/// the on-failure queue. Short retry delays keep each test to seconds.
/// </summary>
[Collection(KinesisMappingCollections.Kinesalite)]
public sealed class KinesisMappingFailureTests(KinesaliteFixture kinesalite, MotoFixture moto)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    private static StreamFailureOptions Fast(StreamFailureOptions options) =>
        options with { RetryBaseDelay = TimeSpan.FromMilliseconds(20), RetryMaxDelay = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task Given_ReportBatchItemFailures_and_a_record_that_fails_twice_When_mapped_Then_every_record_succeeds_once_in_key_order_and_the_checkpoint_reaches_the_last_record()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 1);
        var put = await kit.PutInterleavedAsync(keys: 8, perKey: 10);
        const string Poison = "key-3/4";
        var function = new RecordingFunction { FailWhen = (job, attempt) => job.JobId == Poison && attempt <= 2 ? new TransientJobException("throttled") : null };
        var mapping = kit.Mapping("host-a", function, o => o with
        {
            ParallelizationFactor = 2,
            Batching = BatchingOptions.ForKinesis(25),
            Failure = Fast(new StreamFailureOptions { ReportBatchItemFailures = true }),
        });
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        string last = LastOf(put);
        await WaitForCheckpointAsync(kit, run, last);
        await stop.CancelAsync();
        await run.WaitAsync(Patience);

        Assert.Equal(3, function.Attempts(Poison));
        Assert.All(put.Select((_, i) => $"key-{i % 8}/{i / 8}").Where(j => j != Poison), j => Assert.Equal(1, function.Attempts(j)));
        Assert.Equal(80 + 2, function.CallCount);
        Assert.Equal(0, function.Overlaps);
        foreach (string key in function.Keys)
        {
            IEnumerable<int> expected = key == "key-3" ? [0, 1, 2, 3, 4, 4, 4, 5, 6, 7, 8, 9] : Enumerable.Range(0, 10);
            Assert.Equal(expected, function.CallsOf(key));
        }

        Assert.Equal(8, function.Keys.Count);
        Assert.Equal(0, mapping.Statistics.DroppedEventCount);
        Assert.Equal(80, mapping.Statistics.SucceededEventCount);
    }

    [Fact]
    public async Task Given_2_shards_ParallelizationFactor_4_and_a_poison_in_5_keys_When_each_fails_twice_Then_every_record_succeeds_once_in_key_order()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 2);
        var put = await kit.PutInterleavedAsync(keys: 40, perKey: 10);
        string[] poisons = ["key-0/0", "key-7/3", "key-13/9", "key-21/5", "key-39/1"];
        var function = new RecordingFunction { FailWhen = (job, attempt) => poisons.Contains(job.JobId) && attempt <= 2 ? new TransientJobException("throttled") : null };
        var mapping = kit.Mapping("host-a", function, o => o with
        {
            ParallelizationFactor = 4,
            Batching = BatchingOptions.ForKinesis(50),
            Failure = Fast(new StreamFailureOptions { ReportBatchItemFailures = true }),
        });
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        var lastPerShard = put.GroupBy(r => r.ShardId!).ToDictionary(g => g.Key, g => LastOf([.. g]));
        await Wait.UntilAsync(
            async () => run.IsCompleted || (await kit.LeasesAsync()) is { Count: 2 } leases && leases.All(l => l.Checkpoint == lastPerShard[l.LeaseKey]),
            "every shard checkpointed at its last record",
            Patience);
        await stop.CancelAsync();
        await run.WaitAsync(Patience);

        Assert.Equal(2, lastPerShard.Count);
        Assert.Equal(400 + (2 * poisons.Length), function.CallCount);
        Assert.All(poisons, p => Assert.Equal(3, function.Attempts(p)));
        Assert.Equal(0, function.Overlaps);
        Assert.Equal(40, function.Keys.Count);
        Assert.All(function.Keys, key => Assert.Equal(Enumerable.Range(0, 10), function.CallsOf(key).Distinct()));
        Assert.All(function.Keys, key => Assert.True(
            function.CallsOf(key).Zip(function.CallsOf(key).Skip(1)).All(pair => pair.First <= pair.Second),
            $"{key} ran out of order: {string.Join(",", function.CallsOf(key))}"));
        Assert.Equal(400, mapping.Statistics.SucceededEventCount);
        Assert.Equal(0, mapping.Statistics.DroppedEventCount);
    }

    [Fact]
    public async Task Given_a_lane_retrying_a_failed_record_When_its_host_stops_Then_the_checkpoint_stays_below_it_and_the_next_owner_runs_it_and_the_rest_once()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 1);
        var put = await kit.PutInterleavedAsync(keys: 3, perKey: 4);
        const string Poison = "key-2/1";
        int poisonAt = (1 * 3) + 2;
        var store = new InMemoryIdempotencyStore();
        IdempotencyGuard Guard(string owner) => new(store, owner, new LocalProcessLiveness(), TimeProvider.System, TimeSpan.FromSeconds(15));
        StreamFailureOptions failure = Fast(new StreamFailureOptions { ReportBatchItemFailures = true });
        var first = new RecordingFunction { FailWhen = (job, _) => job.JobId == Poison ? new TransientJobException("downstream is down") : null };
        var mappingA = kit.Mapping("host-a", first, o => o with { Failure = failure }, guard: Guard("host-a"));
        using (var stopA = new CancellationTokenSource())
        {
            var runA = mappingA.RunAsync(stopA.Token);
            await Wait.UntilAsync(() => runA.IsCompleted || first.Attempts(Poison) >= 3, "the failed record to be retried twice", Patience);
            await stopA.CancelAsync();
            await runA.WaitAsync(Patience);
        }

        Lease afterA = Assert.Single(await kit.LeasesAsync());
        Assert.Equal(put[poisonAt - 1].SequenceNumber, afterA.Checkpoint);
        Assert.Null(afterA.Owner);
        Assert.Equal(0, mappingA.Statistics.DroppedEventCount);
        Assert.All(put.Take(poisonAt).Select((_, i) => $"key-{i % 3}/{i / 3}"), j => Assert.Equal(1, first.Attempts(j)));

        var second = new RecordingFunction();
        var mappingB = kit.Mapping("host-b", second, o => o with { Failure = failure }, guard: Guard("host-b"));
        using var stopB = new CancellationTokenSource();
        var runB = mappingB.RunAsync(stopB.Token);
        await WaitForCheckpointAsync(kit, runB, LastOf(put));
        await stopB.CancelAsync();
        await runB.WaitAsync(Patience);

        // The next owner reads from the checkpoint: the failed record and everything after it, each once; nothing before.
        string[] rest = [.. put.Select((_, i) => $"key-{i % 3}/{i / 3}").Skip(poisonAt)];
        Assert.Equal(rest.Length, second.CallCount);
        Assert.All(rest, j => Assert.Equal(1, second.Attempts(j)));
        Assert.All(rest.Where(j => j != Poison), j => Assert.Equal(0, first.Attempts(j)));
    }

    [Fact]
    public async Task Given_bisect_and_a_record_that_always_fails_with_2_retries_When_mapped_Then_only_that_record_is_described_on_the_on_failure_queue_and_the_checkpoint_moves_past_it()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 1);
        string queue = await kit.CreateQueueAsync($"onfail-{Guid.NewGuid():N}");
        var put = await kit.PutInterleavedAsync(keys: 4, perKey: 4);
        const string Poison = "key-1/2";
        var poison = put[(2 * 4) + 1];
        var function = new RecordingFunction { FailWhen = (job, _) => job.JobId == Poison ? new PermanentJobException("cannot decode image") : null };
        var mapping = kit.Mapping("host-a", function, o => o with
        {
            Batching = BatchingOptions.ForKinesis(16),
            Failure = Fast(new StreamFailureOptions { BisectBatchOnFunctionError = true, MaximumRetryAttempts = 2 }),
        }, onFailureQueue: queue);
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        await WaitForCheckpointAsync(kit, run, LastOf(put));
        var messages = await kit.DrainQueueAsync(queue, 1, Patience);
        await stop.CancelAsync();
        await run.WaitAsync(Patience);

        JsonElement message = Assert.Single(messages);
        await AssertQueueEmptyAsync(kit, queue);
        JsonElement request = message.GetProperty("requestContext");
        Assert.Equal(FailedBatchDecision.RetryAttemptsExhausted, request.GetProperty("condition").GetString());

        // Its own three invocations (first try, two retries) plus however many halvings led down to it (16 -> 1: at most 4).
        Assert.InRange(request.GetProperty("approximateInvokeCount").GetInt32(), 3, 3 + 4);
        Assert.Equal("bgpipe", request.GetProperty("functionArn").GetString());
        JsonElement info = message.GetProperty("KinesisBatchInfo");
        Assert.Equal(poison.ShardId, info.GetProperty("shardId").GetString());
        Assert.Equal(poison.SequenceNumber, info.GetProperty("startSequenceNumber").GetString());
        Assert.Equal(poison.SequenceNumber, info.GetProperty("endSequenceNumber").GetString());
        Assert.Equal(1, info.GetProperty("batchSize").GetInt32());
        Assert.Equal(mapping.StreamArn, info.GetProperty("streamArn").GetString());
        Assert.EndsWith(":stream/" + kit.Stream, mapping.StreamArn, StringComparison.Ordinal);
        Assert.Equal("Unhandled", message.GetProperty("responseContext").GetProperty("functionError").GetString());

        Assert.All(put.Select((_, i) => $"key-{i % 4}/{i / 4}").Where(j => j != Poison), j => Assert.Equal(1, function.Attempts(j)));
        Assert.Equal([0, 1, 2, 3], function.CallsOf("key-1").Distinct());
        Assert.Equal(15, mapping.Statistics.SucceededEventCount);
        Assert.Equal(1, mapping.Statistics.DroppedEventCount);
        Assert.Equal(1, mapping.Statistics.OnFailureDestinationDeliveredEventCount);
    }

    [Fact]
    public async Task Given_MaximumRecordAge_of_2_seconds_and_infinite_retries_When_a_record_keeps_failing_Then_it_is_discarded_as_RecordAgeExceeded()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 1);
        string queue = await kit.CreateQueueAsync($"onfail-{Guid.NewGuid():N}");
        const string Poison = "key-0/1";
        var function = new RecordingFunction { FailWhen = (job, _) => job.JobId == Poison ? new TransientJobException("downstream is down") : null };
        var mapping = kit.Mapping("host-a", function, o => o with
        {
            Failure = Fast(new StreamFailureOptions { BisectBatchOnFunctionError = true, MaximumRecordAge = TimeSpan.FromSeconds(2) }),
        }, onFailureQueue: queue);
        using var stop = new CancellationTokenSource();

        // Start first, so the records are young when they are first read: the age limit must be what ends the retries.
        var run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => run.IsCompleted || mapping.ProcessingShards.Count == 1, "the shard to be taken", Patience);
        var put = await kit.PutInterleavedAsync(keys: 3, perKey: 3);
        var poison = put[3];
        await WaitForCheckpointAsync(kit, run, LastOf(put));
        var messages = await kit.DrainQueueAsync(queue, 1, Patience);
        await stop.CancelAsync();
        await run.WaitAsync(Patience);

        JsonElement message = Assert.Single(messages);
        Assert.Equal(FailedBatchDecision.RecordAgeExceeded, message.GetProperty("requestContext").GetProperty("condition").GetString());
        Assert.True(message.GetProperty("requestContext").GetProperty("approximateInvokeCount").GetInt32() > 2, "a record retried for 2 s with 20-200 ms backoffs is invoked more than twice");
        JsonElement info = message.GetProperty("KinesisBatchInfo");
        Assert.Equal(poison.SequenceNumber, info.GetProperty("startSequenceNumber").GetString());
        Assert.Equal(1, info.GetProperty("batchSize").GetInt32());
        DateTimeOffset arrival = info.GetProperty("approximateArrivalOfFirstRecord").GetDateTimeOffset();
        DateTimeOffset discarded = message.GetProperty("timestamp").GetDateTimeOffset();
        Assert.True(discarded - arrival >= TimeSpan.FromSeconds(2), $"discarded {discarded:O}, only {(discarded - arrival).TotalMilliseconds} ms after its arrival {arrival:O}");
        Assert.True(function.Attempts(Poison) > 2);
        Assert.Equal(8, mapping.Statistics.SucceededEventCount);
    }

    [Fact]
    public async Task Given_a_record_that_is_not_JSON_with_1_retry_When_mapped_Then_it_reaches_the_on_failure_queue_with_a_logged_reason_and_the_other_records_run()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 1);
        string queue = await kit.CreateQueueAsync($"onfail-{Guid.NewGuid():N}");
        var records = new List<(string Key, string Body)>();
        for (int i = 0; i < 4; i++)
        {
            records.Add(("key-0", KinesisMappingKit.Body("key-0", i)));
            records.Add(("key-1", KinesisMappingKit.Body("key-1", i)));
            if (i == 1)
            {
                records.Add(("key-bad", "this is not JSON"));
            }
        }

        var put = await kit.PutAsync(records);
        var bad = put[records.FindIndex(r => r.Key == "key-bad")];
        var function = new RecordingFunction();
        var loggers = new ListLoggerFactory();
        var mapping = kit.Mapping("host-a", function, o => o with
        {
            Failure = Fast(new StreamFailureOptions { ReportBatchItemFailures = true, BisectBatchOnFunctionError = true, MaximumRetryAttempts = 1 }),
        }, onFailureQueue: queue, loggers: loggers);
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        await WaitForCheckpointAsync(kit, run, LastOf(put));
        var messages = await kit.DrainQueueAsync(queue, 1, Patience);
        await stop.CancelAsync();
        await run.WaitAsync(Patience);

        JsonElement message = Assert.Single(messages);
        Assert.Equal(FailedBatchDecision.RetryAttemptsExhausted, message.GetProperty("requestContext").GetProperty("condition").GetString());
        JsonElement info = message.GetProperty("KinesisBatchInfo");
        Assert.Equal(bad.SequenceNumber, info.GetProperty("startSequenceNumber").GetString());
        Assert.Equal(1, info.GetProperty("batchSize").GetInt32());

        // The error log names the record and what is wrong with it.
        Assert.Contains(
            loggers.Logger.Lines,
            l => l.Level == LogLevel.Error && l.Message.Contains(bad.SequenceNumber!, StringComparison.Ordinal) && l.Message.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(0, 4), function.CallsOf("key-0"));
        Assert.Equal(Enumerable.Range(0, 4), function.CallsOf("key-1"));
        Assert.Equal(8, function.CallCount);
        Assert.Equal(1, mapping.Statistics.OnFailureDestinationDeliveredEventCount);
    }

    private static string LastOf(IReadOnlyList<PutRecordsResultEntry> put) =>
        put.Select(r => r.SequenceNumber!).Max(Comparer<string>.Create(SequenceNumbers.Compare))!;

    private static Task WaitForCheckpointAsync(KinesisMappingKit kit, Task run, string last) => Wait.UntilAsync(
        async () => run.IsCompleted || (await kit.LeasesAsync()).Any(l => l.Checkpoint == last),
        $"the checkpoint to reach {last}",
        Patience);

    private static async Task AssertQueueEmptyAsync(KinesisMappingKit kit, string queue)
    {
        var more = await kit.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queue, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
        Assert.Empty(more.Messages ?? []);
    }

    /// <summary>Every logger of the mapping writes to one <see cref="ListLogger"/>.</summary>
    private sealed class ListLoggerFactory : ILoggerFactory
    {
        public ListLogger Logger { get; } = new();

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => Logger;

        public void Dispose()
        {
        }
    }
}
