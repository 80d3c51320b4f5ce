using System.Text;
using System.Threading.Channels;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Aws.Tests.Kinesis.Polling.Fakes;
using Pipeline.Core.Records;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Kinesis.Polling;

public sealed class ShardPollerTests
{
    private const string Shard = "shardId-000000000000";
    private readonly SteppingTimeProvider _time = new();
    private readonly ScriptedKinesisClient _kinesis;
    private readonly Channel<ShardBatch> _channel = Channel.CreateBounded<ShardBatch>(1_000);

    public ShardPollerTests() => _kinesis = new ScriptedKinesisClient(_time);

    private static ShardPollerOptions Options(int batchSize = 10) => new()
    {
        StreamName = "jobs",
        StreamArn = "arn:aws:kinesis:us-east-1:000000000000:stream/jobs",
        ShardId = Shard,
        BatchSize = batchSize,
    };

    private ShardPoller Poller(ShardPollerOptions? options = null, Channel<ShardBatch>? channel = null) =>
        new(_kinesis, options ?? Options(), (channel ?? _channel).Writer, _time);

    private List<SourceRecord> Received()
    {
        var records = new List<SourceRecord>();
        while (_channel.Reader.TryRead(out var batch))
        {
            Assert.Equal(Shard, batch.ShardId);
            Assert.Equal(batch.Records[0].Id, batch.FirstSequenceNumber);
            Assert.Equal(batch.Records[^1].Id, batch.LastSequenceNumber);
            records.AddRange(batch.Records);
        }

        return records;
    }

    private void AssertExactlyOnceInOrder(IReadOnlyList<SourceRecord> received, int count)
    {
        Assert.Equal(Enumerable.Range(0, count).Select(ScriptedKinesisClient.Sequence), received.Select(r => r.Id));
        for (var i = 0; i < count; i++)
        {
            Assert.Equal("record-" + i, Encoding.UTF8.GetString(received[i].Body.Span));
            Assert.Equal(_kinesis.Records[i].PartitionKey, received[i].PartitionKey);
        }
    }

    private static async Task<ShardPollResult> StopAsync(Task<ShardPollResult> run, CancellationTokenSource cts)
    {
        await cts.CancelAsync();
        return await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Given_an_idle_shard_When_polled_for_ten_seconds_Then_it_calls_once_per_second()
    {
        using var cts = new CancellationTokenSource();
        var poller = Poller();
        var run = poller.RunAsync(cts.Token);

        await _time.RunUntilAsync(() => run.IsCompleted, TimeSpan.FromSeconds(10));

        Assert.Equal(11, _kinesis.Calls);
        Assert.All(_kinesis.CallTimes.Zip(_kinesis.CallTimes.Skip(1)), p => Assert.Equal(TimeSpan.FromSeconds(1), p.Second - p.First));
        Assert.Equal(0, poller.Counters.MillisBehindLatest);
        Assert.Equal(11, poller.Counters.GetRecordsCalls);
        var result = Assert.IsType<ShardPollStopped>(await StopAsync(run, cts));
        Assert.Equal(ShardPollStopReason.Cancelled, result.Reason);
        Assert.Null(result.LastSequenceNumber);
    }

    [Fact]
    public async Task Given_records_but_MillisBehindLatest_zero_When_polled_Then_it_still_waits_the_base_interval()
    {
        _kinesis.Add(30);
        _kinesis.Behind = _ => 0;
        using var cts = new CancellationTokenSource();
        var run = Poller().RunAsync(cts.Token);

        await _time.RunUntilAsync(() => run.IsCompleted, TimeSpan.FromSeconds(2.5));

        Assert.Equal([_time.Start, _time.Start.AddSeconds(1), _time.Start.AddSeconds(2)], _kinesis.CallTimes);
        AssertExactlyOnceInOrder(Received(), 30);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_a_backlog_When_MillisBehindLatest_is_positive_Then_it_calls_without_waiting_yet_at_most_five_per_second()
    {
        _kinesis.Add(100);
        using var cts = new CancellationTokenSource();
        var poller = Poller();
        var run = poller.RunAsync(cts.Token);

        await _time.RunUntilAsync(() => poller.Counters.RecordsHandedOn == 100 && _kinesis.Calls >= 11, TimeSpan.FromSeconds(30));

        var times = _kinesis.CallTimes.ToArray();
        Assert.All(times.Take(5), t => Assert.Equal(_time.Start, t));
        Assert.All(times.Skip(5).Take(5), t => Assert.Equal(_time.Start.AddSeconds(1), t));
        for (var i = 0; i + 5 < times.Length; i++)
        {
            Assert.True(times[i + 5] - times[i] >= TimeSpan.FromSeconds(1), $"calls {i} and {i + 5} are {times[i + 5] - times[i]} apart");
        }

        // Caught up after the tenth call (MillisBehindLatest 0): back to the base rate.
        Assert.Equal(_time.Start.AddSeconds(2), times[10]);
        AssertExactlyOnceInOrder(Received(), 100);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_an_expired_iterator_When_it_is_reacquired_Then_reading_resumes_after_the_last_record_handed_on()
    {
        _kinesis.Add(50);
        _kinesis.Fault = call => call is 3 or 6 ? new KinesisExpiredIteratorException("Iterator expired") : null;
        using var cts = new CancellationTokenSource();
        var poller = Poller();
        var run = poller.RunAsync(cts.Token);

        await _time.RunUntilAsync(() => poller.Counters.RecordsHandedOn == 50, TimeSpan.FromSeconds(30));

        AssertExactlyOnceInOrder(Received(), 50);
        Assert.Equal(2, poller.Counters.ExpiredIterators);
        Assert.Equal(3, _kinesis.IteratorRequests.Count);
        Assert.Equal(ShardIteratorType.TrimHorizon, _kinesis.IteratorRequests[0].ShardIteratorType);
        Assert.All(_kinesis.IteratorRequests.Skip(1), r => Assert.Equal(ShardIteratorType.AfterSequenceNumber, r.ShardIteratorType));
        Assert.Equal(ScriptedKinesisClient.Sequence(19), _kinesis.IteratorRequests[1].StartingSequenceNumber);
        Assert.Equal(ScriptedKinesisClient.Sequence(39), _kinesis.IteratorRequests[2].StartingSequenceNumber);
        Assert.Equal(ScriptedKinesisClient.Sequence(49), poller.LastSequenceNumber);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_an_iterator_that_expires_before_any_record_When_reacquired_Then_it_starts_again_from_the_checkpoint()
    {
        _kinesis.Add(20);
        _kinesis.Fault = call => call == 1 ? new KinesisExpiredIteratorException("Iterator expired") : null;
        using var cts = new CancellationTokenSource();
        var poller = Poller(Options() with { Checkpoint = ScriptedKinesisClient.Sequence(4), StartingPosition = StartingPosition.Latest });
        var run = poller.RunAsync(cts.Token);

        await _time.RunUntilAsync(() => poller.Counters.RecordsHandedOn == 15, TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(5, 15).Select(ScriptedKinesisClient.Sequence), Received().Select(r => r.Id));
        Assert.All(_kinesis.IteratorRequests, r =>
        {
            Assert.Equal(ShardIteratorType.AfterSequenceNumber, r.ShardIteratorType);
            Assert.Equal(ScriptedKinesisClient.Sequence(4), r.StartingSequenceNumber);
        });
        Assert.Equal(2, _kinesis.IteratorRequests.Count);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_throughput_exceeded_three_times_When_polled_Then_it_backs_off_exponentially_within_bounds_and_loses_nothing()
    {
        _kinesis.Add(30);
        _kinesis.Fault = call => call is 2 or 3 or 4 ? new KinesisThroughputExceededException("Rate exceeded for shard") : null;
        using var cts = new CancellationTokenSource();
        var poller = Poller(Options() with { RetryBaseDelay = TimeSpan.FromMilliseconds(200), RetryMaxDelay = TimeSpan.FromMilliseconds(400) });
        var run = poller.RunAsync(cts.Token);

        await _time.RunUntilAsync(() => poller.Counters.RecordsHandedOn == 30, TimeSpan.FromSeconds(30));

        var t = _kinesis.CallTimes;
        Assert.Equal(t[0], t[1]);
        AssertBetween(t[2] - t[1], 100, 200);
        AssertBetween(t[3] - t[2], 200, 400);
        AssertBetween(t[4] - t[3], 200, 400);
        Assert.Equal(3, poller.Counters.ThroughputExceeded);
        AssertExactlyOnceInOrder(Received(), 30);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_transient_failures_When_polled_Then_it_backs_off_and_retries_with_the_same_iterator()
    {
        _kinesis.Add(20);
        _kinesis.Fault = call => call is 2 or 3 ? new KinesisTransientException("InternalFailure") : null;
        using var cts = new CancellationTokenSource();
        var poller = Poller();
        var run = poller.RunAsync(cts.Token);

        await _time.RunUntilAsync(() => poller.Counters.RecordsHandedOn == 20, TimeSpan.FromSeconds(30));

        Assert.Equal(2, poller.Counters.TransientErrors);
        Assert.True(_kinesis.CallTimes[2] > _kinesis.CallTimes[1]);
        Assert.Single(_kinesis.IteratorRequests);
        AssertExactlyOnceInOrder(Received(), 20);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_a_closed_shard_When_read_to_its_end_Then_RunAsync_returns_ShardEnded_with_the_children_and_leaves_the_channel_open()
    {
        _kinesis.Add(25);
        _kinesis.ClosedWithChildren = ["shardId-000000000001", "shardId-000000000002"];
        var poller = Poller();
        var run = poller.RunAsync(CancellationToken.None);

        await _time.RunUntilAsync(() => run.IsCompleted, TimeSpan.FromSeconds(30));

        var ended = Assert.IsType<ShardEnded>(await run.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(["shardId-000000000001", "shardId-000000000002"], ended.ChildShardIds);
        Assert.Equal(Shard, ended.ShardId);
        Assert.Equal(ScriptedKinesisClient.Sequence(24), ended.LastSequenceNumber);
        Assert.Equal(3, _kinesis.Calls);
        Assert.False(_channel.Reader.Completion.IsCompleted);
        AssertExactlyOnceInOrder(Received(), 25);
    }

    [Fact]
    public async Task Given_a_full_channel_When_the_backlog_waits_Then_no_GetRecords_is_made_until_room_appears()
    {
        _kinesis.Add(100);
        var small = Channel.CreateBounded<ShardBatch>(2);
        using var cts = new CancellationTokenSource();
        var poller = Poller(channel: small);
        var run = poller.RunAsync(cts.Token);

        await Wait.UntilAsync(() => poller.Counters.BackPressureWaits == 1, "the poller to find the channel full", TimeSpan.FromSeconds(5));
        Assert.Equal(2, _kinesis.Calls);
        _time.Fake.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(_time.NextDue);
        Assert.Equal(2, _kinesis.Calls);

        Assert.True(small.Reader.TryRead(out var first));
        Assert.Equal(ScriptedKinesisClient.Sequence(0), first.FirstSequenceNumber);
        await Wait.UntilAsync(() => poller.Counters.BackPressureWaits == 2, "the poller to fill the freed slot", TimeSpan.FromSeconds(5));
        Assert.Equal(3, _kinesis.Calls);
        Assert.Equal(_time.Start.AddSeconds(30), _kinesis.CallTimes[2]);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_a_completed_channel_When_polling_Then_RunAsync_stops_with_ChannelCompleted()
    {
        _kinesis.Add(5);
        _channel.Writer.Complete();

        var result = await Poller().RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(ShardPollStopReason.ChannelCompleted, Assert.IsType<ShardPollStopped>(result).Reason);
        Assert.Equal(0, _kinesis.Calls);
    }

    [Fact]
    public async Task Given_a_record_When_handed_on_Then_it_maps_to_a_SourceRecord_with_the_stream_and_shard()
    {
        _kinesis.Add(1);
        using var cts = new CancellationTokenSource();
        var poller = Poller();
        var run = poller.RunAsync(cts.Token);
        await _time.RunUntilAsync(() => poller.Counters.RecordsHandedOn == 1, TimeSpan.FromSeconds(5));

        var record = Assert.Single(Received());
        Assert.Equal(ScriptedKinesisClient.Sequence(0), record.Id);
        Assert.Equal("pk-0", record.PartitionKey);
        Assert.Equal("arn:aws:kinesis:us-east-1:000000000000:stream/jobs", record.Source);
        Assert.Equal(_kinesis.Records[0].ApproximateArrivalTimestamp, record.SentAt);
        Assert.Equal(Shard, record.Attributes[ShardPoller.ShardIdAttribute]);
        Assert.Equal(ScriptedKinesisClient.Sequence(0), record.Attributes[ShardPoller.SequenceNumberAttribute]);
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_AT_TIMESTAMP_When_started_Then_the_iterator_asks_for_that_timestamp()
    {
        var at = _time.Start.AddMinutes(-5);
        using var cts = new CancellationTokenSource();
        var run = Poller(Options() with { StartingPosition = StartingPosition.AtTimestamp, StartingPositionTimestamp = at }).RunAsync(cts.Token);
        await StopAsync(run, cts);

        var request = Assert.Single(_kinesis.IteratorRequests);
        Assert.Equal(ShardIteratorType.AtTimestamp, request.ShardIteratorType);
        Assert.Equal(at, request.Timestamp);
    }

    [Fact]
    public async Task Given_a_started_poller_When_started_again_Then_it_refuses()
    {
        using var cts = new CancellationTokenSource();
        var poller = Poller();
        var run = poller.RunAsync(cts.Token);

        await Assert.ThrowsAsync<InvalidOperationException>(() => poller.RunAsync(cts.Token));
        await StopAsync(run, cts);
    }

    [Fact]
    public async Task Given_SHARD_END_without_ChildShards_When_the_shard_ends_Then_the_children_come_from_ListShards()
    {
        _kinesis.Add(5);
        _kinesis.ClosedWithChildren = ["shardId-000000000003"];
        _kinesis.OmitChildShards = true;

        var result = await Poller().RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["shardId-000000000003"], Assert.IsType<ShardEnded>(result).ChildShardIds);
    }

    [Fact]
    public async Task Given_a_permanent_error_When_polling_Then_RunAsync_fails_with_it()
    {
        _kinesis.Add(5);
        _kinesis.Fault = _ => new KinesisResourceNotFoundException("Stream jobs not found");

        var error = await Assert.ThrowsAsync<KinesisResourceNotFoundException>(() => Poller().RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)));

        Assert.Contains("jobs", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _kinesis.Calls);
    }

    private static void AssertBetween(TimeSpan actual, double minMs, double maxMs) =>
        Assert.InRange(actual.TotalMilliseconds, minMs, maxMs);
}
