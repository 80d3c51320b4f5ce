using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Tests.Emulators;
using Pipeline.Core.Batching;
using Pipeline.Core.Sources.Streams;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Kinesis.Mapping;

/// <summary>The Kinesis mapping end to end: kinesalite for the stream, moto_server for the lease table and queues.</summary>
[Collection(KinesisMappingCollections.Kinesalite)]
public sealed class KinesisMappingOnKinesaliteTests(KinesaliteFixture kinesalite, MotoFixture moto)
{
    [Fact]
    public async Task Given_20000_records_on_1000_keys_in_4_shards_When_mapped_with_ParallelizationFactor_10_Then_each_key_runs_in_order_exactly_once_and_every_shard_checkpoints_its_last_record()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesalite, moto, shards: 4);
        var put = await kit.PutInterleavedAsync(keys: 1000, perKey: 20);
        var function = new RecordingFunction();
        var mapping = kit.Mapping("host-a", function, o => o with { ParallelizationFactor = 10, Batching = BatchingOptions.ForKinesis(500) });
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => run.IsCompleted || function.CallCount >= 20_000, "20,000 calls", TimeSpan.FromSeconds(120));
        var lastPerShard = put.GroupBy(r => r.ShardId!).ToDictionary(g => g.Key, g => g.Select(r => r.SequenceNumber!).Max(Comparer<string>.Create(SequenceNumbers.Compare))!);
        await Wait.UntilAsync(
            async () => (await kit.LeasesAsync()).All(l => l.Checkpoint == lastPerShard[l.LeaseKey]),
            "every shard checkpointed at its last record",
            TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(20_000, function.CallCount);
        Assert.Equal(0, function.Overlaps);
        Assert.Equal(1000, function.Keys.Count);
        Assert.All(function.Keys, key => Assert.Equal(Enumerable.Range(0, 20), function.CallsOf(key)));
        Assert.Equal(20_000, mapping.Statistics.PolledEventCount);
        Assert.Equal(20_000, mapping.Statistics.SucceededEventCount);
        Assert.All(await kit.LeasesAsync(), l => Assert.Null(l.Owner));
    }
}
