using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing.Emulators;
using Xunit.Abstractions;

namespace Pipeline.Cli.Tests.Hosting;

/// <summary>
/// SIGKILL of <c>bgpipe run</c> hosting a Kinesis stream: the restarted host resumes from the checkpoints, and a second
/// host takes a dead host's shards once their leases expire.
/// </summary>
[Collection(KinesisCrashCollection.Name)]
public sealed partial class RunKinesisCrashTests(MotoFixture moto, KinesaliteFixture kinesalite, ITestOutputHelper log)
{
    private const int Shards = 2;
    private const int ParallelizationFactor = 2;

    [Fact]
    public async Task Given_a_host_killed_mid_stream_When_a_new_host_starts_Then_it_resumes_at_the_checkpoints_and_only_in_flight_calls_repeat()
    {
        const int Jobs = 150;
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kk");
        Bgpipe.Result provision = await kit.ProvisionAsync(Shards);
        Assert.True(provision.ExitCode == 0, provision.StdErr);
        byte[][] pictures = [.. Enumerable.Range(1, 4).Select(seed => Images.ShapeOnTexture(128, 96, seed).Jpeg)];
        await Parallel.ForEachAsync(Enumerable.Range(0, Jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await kit.Remote.PutAsync(kit.Remote.InBucket, $"in/{i:D3}.jpg", pictures[i % pictures.Length]));
        var records = Enumerable.Range(0, Jobs)
            .Select(i => ($"key-{i % 40}", KinesisKit.Utf8(RemoteKit.Job($"s3://{kit.Remote.InBucket}/in/{i:D3}.jpg", $"s3://{kit.Remote.OutBucket}/out/{i:D3}.png"))))
            .ToList();
        List<PutRecordsResultEntry> put = await kit.PutAsync(records);
        Assert.Equal(Shards, put.Select(p => p.ShardId).Distinct().Count());

        // Retries without limit: a record whose claim the dead host still holds is retried until the claim expires.
        string pipeline = kit.PipelineFile();
        string firstLog = Path.Combine(kit.Remote.Folder, "calls-1.log");
        string secondLog = Path.Combine(kit.Remote.Folder, "calls-2.log");

        // Given a host well into the stream, When it is killed outright,
        using (Process first = Bgpipe.StartCapturing(out _, kit.RunArgs(pipeline, firstLog, "first")))
        {
            await RemoteKit.UntilAsync(async () => (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Count >= 30, "30 outputs before the kill", 240);
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        int doneAtKill = (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Count;
        Assert.True(doneAtKill < Jobs, "the kill came before the end of the stream");
        IReadOnlyList<Lease> leasesAtKill = await kit.LeasesAsync();
        Assert.All(leasesAtKill, l => Assert.Equal("first", l.Owner));
        Dictionary<string, string> statusAtKill = await kit.Remote.StatusesAsync();
        List<(string Key, string Source)> firstCalls = Calls(firstLog);
        var inFlight = firstCalls.Where(c => statusAtKill.GetValueOrDefault(c.Key) != "COMPLETED").Select(c => c.Key).ToHashSet();

        // Completed by the first host but above its shard's checkpoint: the new host reads them again and must skip them.
        var keyOfSource = firstCalls.GroupBy(c => c.Source).ToDictionary(g => g.Key, g => g.First().Key, StringComparer.Ordinal);
        int completedAboveCheckpoint = Enumerable.Range(0, Jobs).Count(i =>
        {
            string source = $"s3://{kit.Remote.InBucket}/in/{i:D3}.jpg";
            Lease lease = leasesAtKill.Single(l => l.LeaseKey == put[i].ShardId);
            bool completed = keyOfSource.TryGetValue(source, out string? key) && statusAtKill.GetValueOrDefault(key) == "COMPLETED";
            return completed && (!lease.Checkpoint.All(char.IsAsciiDigit) || KinesisKit.Sequence(put[i].SequenceNumber!) > KinesisKit.Sequence(lease.Checkpoint));
        });

        // and a new host starts (a new worker id: it takes the dead host's leases once they expire), Then the stream completes.
        using Process second = Bgpipe.StartCapturing(out Func<string> secondOutput, kit.RunArgs(pipeline, secondLog, "second"));
        try
        {
            await RemoteKit.UntilAsync(async () => (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Count == Jobs, $"{Jobs} outputs", 420);
            await RemoteKit.UntilAsync(async () =>
            {
                IReadOnlyList<Lease> leases = await kit.LeasesAsync();
                return leases.All(l => l.Owner == "second" && l.Checkpoint == LastSequence(put, l.LeaseKey));
            }, "the second host to checkpoint every shard at its last record", 60);
        }
        finally
        {
            Bgpipe.Terminate(second);
            await second.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Every job has its one output, nothing was skipped past,
        var outputs = (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Select(o => o.Key).ToHashSet();
        Assert.Equal(Enumerable.Range(0, Jobs).Select(i => $"out/{i:D3}.png").ToHashSet(), outputs);
        string text = secondOutput();
        Assert.True(second.ExitCode == 0, text);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);

        // the only repeated calls are those in flight at the kill (at most two per lane: one running, one finished
        // but not yet recorded), and the idempotency table suppressed the completed records read again.
        var firstKeys = firstCalls.Select(c => c.Key).ToHashSet();
        var secondKeys = Calls(secondLog).Select(c => c.Key).ToHashSet();
        var repeated = firstKeys.Intersect(secondKeys).ToHashSet();
        Assert.Equal(inFlight, repeated);
        Assert.True(inFlight.Count <= 2 * Shards * ParallelizationFactor, $"{inFlight.Count} calls were in flight with {Shards * ParallelizationFactor} lanes");
        Assert.Equal(Jobs, firstKeys.Union(secondKeys).Count());
        Match summary = Summary().Match(text);
        Assert.True(summary.Success, text);
        int skipped = int.Parse(summary.Groups["skipped"].Value, CultureInfo.InvariantCulture);
        Assert.True(skipped >= completedAboveCheckpoint, $"{completedAboveCheckpoint} completed records lay above the checkpoints, {skipped} were skipped");
        log.WriteLine($"kill after {doneAtKill} outputs; {inFlight.Count} in flight; {completedAboveCheckpoint} completed above the checkpoints; second host skipped {skipped}");
    }

    [Fact]
    public async Task Given_two_hosts_sharing_four_shards_When_one_is_killed_Then_the_other_takes_its_shards_after_the_lease_duration_and_processes_their_new_records()
    {
        const int StreamShards = 4;
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kf");
        Bgpipe.Result provision = await kit.ProvisionAsync(StreamShards);
        Assert.True(provision.ExitCode == 0, provision.StdErr);
        byte[] picture = Images.ShapeOnTexture(96, 72, 1).Jpeg;
        for (int i = 0; i < 16; i++)
        {
            await kit.Remote.PutAsync(kit.Remote.InBucket, $"in/{i:D3}.jpg", picture);
        }

        string pipeline = kit.PipelineFile();
        string Job(int i) => RemoteKit.Job($"s3://{kit.Remote.InBucket}/in/{i:D3}.jpg", $"s3://{kit.Remote.OutBucket}/out/{i:D3}.png");

        // Given hosts A and B that split the four shards two and two, both warm (one record per shard done),
        using Process a = Bgpipe.StartCapturing(out _, kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "a.log"), "host-a"));
        using Process b = Bgpipe.StartCapturing(out Func<string> bOutput, kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "b.log"), "host-b"));
        try
        {
            await RemoteKit.UntilAsync(async () =>
            {
                IReadOnlyList<Lease> leases = await kit.LeasesAsync();
                return leases.Count == StreamShards && leases.Count(l => l.Owner == "host-a") == 2 && leases.Count(l => l.Owner == "host-b") == 2;
            }, "hosts A and B to own two shards each", 120);
            IReadOnlyList<Lease> split = await kit.LeasesAsync();
            string[] shardsOfA = [.. split.Where(l => l.Owner == "host-a").Select(l => l.LeaseKey)];
            string[] allShards = [.. split.Select(l => l.LeaseKey).Order(StringComparer.Ordinal)];
            var warm = new List<(string, byte[])>();
            for (int s = 0; s < StreamShards; s++)
            {
                warm.Add((await kit.KeyForShardAsync(allShards[s], "warm"), KinesisKit.Utf8(Job(s))));
            }

            await kit.PutAsync(warm);
            await RemoteKit.UntilAsync(async () => (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Count == StreamShards, "one output per shard", 120);
            Assert.Equal(2, (await kit.LeasesAsync()).Count(l => l.Owner == "host-a"));

            // When A is killed and new records arrive for its shards,
            a.Kill(entireProcessTree: true);
            var clock = Stopwatch.StartNew();
            await a.WaitForExitAsync();
            var fresh = new List<(string, byte[])>();
            for (int i = StreamShards; i < 16; i++)
            {
                fresh.Add((await kit.KeyForShardAsync(shardsOfA[i % 2], $"fresh{i}"), KinesisKit.Utf8(Job(i))));
            }

            await kit.PutAsync(fresh);

            // Then B owns all four shards within the lease duration plus a few cycles, and processes the new records.
            TimeSpan leaseDuration = TimeSpan.FromSeconds(double.Parse(KinesisKit.LeaseDuration, CultureInfo.InvariantCulture));
            TimeSpan cycle = leaseDuration / 3;
            await RemoteKit.UntilAsync(async () => (await kit.LeasesAsync()).All(l => l.Owner == "host-b"), "B to own every shard", 60);
            TimeSpan takeover = clock.Elapsed;
            int seen = StreamShards;
            await RemoteKit.UntilAsync(async () =>
            {
                int count = (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Count;
                if (count != seen)
                {
                    log.WriteLine($"{clock.Elapsed.TotalSeconds:F2} s: {count - StreamShards} of {16 - StreamShards} new outputs");
                    seen = count;
                }

                return count == 16;
            }, "the new records' outputs", 120);
            TimeSpan failover = clock.Elapsed;
            log.WriteLine($"lease duration {leaseDuration.TotalSeconds} s, cycle {cycle.TotalMilliseconds} ms: B owned all {StreamShards} shards {takeover.TotalSeconds:F2} s after the kill; the new records' outputs were all there {failover.TotalSeconds:F2} s after it");

            // One shard a cycle is taken once the leases look expired; the polling interval (250 ms) and process noise add slack.
            TimeSpan bound = leaseDuration + (shardsOfA.Length * cycle) + TimeSpan.FromSeconds(3);
            Assert.True(takeover <= bound, $"B took A's shards {takeover.TotalSeconds:F2} s after the kill (bound {bound.TotalSeconds:F2} s)");
            Assert.True(takeover >= leaseDuration - cycle - TimeSpan.FromMilliseconds(300), $"B took A's shards after {takeover.TotalSeconds:F2} s, before A's leases could expire");
            var calls = File.ReadAllLines(Path.Combine(kit.Remote.Folder, "b.log")).Select(l => l.Split('\t')[1]).ToHashSet(StringComparer.Ordinal);
            Assert.All(Enumerable.Range(StreamShards, 16 - StreamShards), i => Assert.Contains($"s3://{kit.Remote.InBucket}/in/{i:D3}.jpg", calls));
        }
        finally
        {
            a.Kill(entireProcessTree: true);
            Bgpipe.Terminate(b);
            await b.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        string bText = bOutput();
        Assert.True(b.ExitCode == 0, bText);
        Assert.DoesNotContain("   at ", bText, StringComparison.Ordinal);
        Assert.All(await kit.LeasesAsync(), l => Assert.Null(l.Owner));
    }

    private static string LastSequence(List<PutRecordsResultEntry> put, string shardId) =>
        put.Where(p => p.ShardId == shardId).MaxBy(p => KinesisKit.Sequence(p.SequenceNumber!))!.SequenceNumber!;

    /// <summary>Call-log lines are "{idempotency key}\t{source}".</summary>
    private static List<(string Key, string Source)> Calls(string path) =>
        File.Exists(path) ? [.. File.ReadAllLines(path).Select(l => l.Split('\t')).Select(f => (f[0], f[1]))] : [];

    [GeneratedRegex(@"JobsStream stopped: polled \d+, invoked \d+, succeeded \d+, skipped (?<skipped>\d+),")]
    private static partial Regex Summary();
}
