using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Core.Records;
using Pipeline.Testing;
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
}
