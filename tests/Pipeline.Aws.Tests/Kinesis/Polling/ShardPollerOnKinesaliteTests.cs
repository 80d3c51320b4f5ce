using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Core.Records;
using Pipeline.Testing;
using System.Numerics;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Kinesis.Polling;

/// <summary>The poller against a real Kinesis wire server, on the real clock.</summary>
[Collection(EmulatorCollections.Kinesalite)]
public sealed class ShardPollerOnKinesaliteTests(KinesaliteFixture emulator)
{
    [Fact]
    public async Task Given_300_records_in_a_one_shard_stream_When_polled_from_TRIM_HORIZON_with_Limit_100_Then_all_arrive_in_order_exactly_once()
    {
        using var kinesis = emulator.Endpoint.CreateKinesis();
        var stream = $"sp-{Guid.NewGuid():N}";
        await kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = stream, ShardCount = 1 });
        await Wait.UntilAsync(
            async () => (await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = stream })).StreamDescriptionSummary.StreamStatus == StreamStatus.Active,
            $"stream {stream} ACTIVE");
        var shard = Assert.Single(await kinesis.ListAllShardsAsync(stream)).ShardId;
        var sent = new List<string>();
        for (var page = 0; page < 3; page++)
        {
            var entries = Enumerable.Range(page * 100, 100).Select(i => new PutRecordsRequestEntry
            {
                PartitionKey = "key-" + (i % 13).ToString(CultureInfo.InvariantCulture),
                Data = Encoding.UTF8.GetBytes("job-" + i.ToString(CultureInfo.InvariantCulture)),
            }).ToList();
            var put = await kinesis.PutRecordsAsync(new PutRecordsRequest { StreamName = stream, Records = entries });
            Assert.Equal(0, put.FailedRecordCount ?? 0);
            sent.AddRange(put.Records.Select(r => r.SequenceNumber!));
        }

        var channel = Channel.CreateBounded<ShardBatch>(4);
        var poller = new ShardPoller(kinesis, new ShardPollerOptions { StreamName = stream, ShardId = shard, BatchSize = 100 }, channel.Writer, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = poller.RunAsync(cts.Token);
        var received = new List<SourceRecord>();
        var batches = 0;

        await Wait.UntilAsync(
            () =>
            {
                while (channel.Reader.TryRead(out var batch))
                {
                    Assert.InRange(batch.Records.Count, 1, 100);
                    received.AddRange(batch.Records);
                    batches++;
                }

                return received.Count >= 300 || run.IsCompleted;
            },
            "300 records polled",
            TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        var result = Assert.IsType<ShardPollStopped>(await run.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(sent, received.Select(r => r.Id));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => "job-" + i.ToString(CultureInfo.InvariantCulture)), received.Select(r => Encoding.UTF8.GetString(r.Body.Span)));
        Assert.All(received, r => Assert.Equal(shard, r.Attributes[ShardPoller.ShardIdAttribute]));
        Assert.True(batches >= 3, $"Limit 100 needs at least 3 batches, got {batches}");
        Assert.Equal(sent[^1], result.LastSequenceNumber);
        Assert.Equal(300, poller.Counters.RecordsHandedOn);
        Assert.Equal(300, received.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Given_a_split_shard_When_its_parent_is_read_to_the_end_Then_RunAsync_returns_ShardEnded_with_both_children()
    {
        using var kinesis = emulator.Endpoint.CreateKinesis();
        var stream = $"sp-{Guid.NewGuid():N}";
        await kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = stream, ShardCount = 1 });
        await WaitActiveAsync(kinesis, stream);
        var parent = Assert.Single(await kinesis.ListAllShardsAsync(stream));
        var put = await kinesis.PutRecordsAsync(new PutRecordsRequest
        {
            StreamName = stream,
            Records = Enumerable.Range(0, 20).Select(i => new PutRecordsRequestEntry { PartitionKey = "k" + i.ToString(CultureInfo.InvariantCulture), Data = new byte[] { (byte)i } }).ToList(),
        });
        Assert.Equal(0, put.FailedRecordCount ?? 0);
        var start = BigInteger.Parse(parent.HashKeyRange.StartingHashKey, CultureInfo.InvariantCulture);
        var end = BigInteger.Parse(parent.HashKeyRange.EndingHashKey, CultureInfo.InvariantCulture);
        await kinesis.SplitShardAsync(new SplitShardRequest
        {
            StreamName = stream,
            ShardToSplit = parent.ShardId,
            NewStartingHashKey = ((start + end + 1) / 2).ToString(CultureInfo.InvariantCulture),
        });
        await WaitActiveAsync(kinesis, stream);
        var children = (await kinesis.ListAllShardsAsync(stream)).Where(s => s.ParentShardId == parent.ShardId).Select(s => s.ShardId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, children.Count);

        var channel = Channel.CreateBounded<ShardBatch>(100);
        var poller = new ShardPoller(kinesis, new ShardPollerOptions { StreamName = stream, ShardId = parent.ShardId, BatchSize = 7 }, channel.Writer, TimeProvider.System);
        var result = await poller.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var ended = Assert.IsType<ShardEnded>(result);
        Assert.Equal(children, ended.ChildShardIds.Order(StringComparer.Ordinal));
        Assert.Equal(put.Records[^1].SequenceNumber, ended.LastSequenceNumber);
        Assert.Equal(20, poller.Counters.RecordsHandedOn);
        Assert.False(channel.Reader.Completion.IsCompleted);
    }

    private static Task WaitActiveAsync(IKinesisClient kinesis, string stream) => Wait.UntilAsync(
        async () => (await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = stream })).StreamDescriptionSummary.StreamStatus == StreamStatus.Active,
        $"stream {stream} ACTIVE");
}
