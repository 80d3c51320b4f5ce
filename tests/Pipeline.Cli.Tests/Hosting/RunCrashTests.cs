using System.Diagnostics;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Hosting;

/// <summary>
/// SIGKILL <c>bgpipe run</c> during a 200-job backlog on moto_server, then restart it. Every job must end with exactly one
/// output object or in the DLQ with a reason; nothing is lost, and repeated work is at most what was in flight.
/// </summary>
[Collection(CrashCollection.Name)]
public sealed class RunCrashTests(MotoFixture moto)
{
    private const int Jobs = 200;
    private const int Poison = 5;
    private const int Lanes = 2;

    [Fact]
    public async Task Given_a_200_job_backlog_When_the_host_is_killed_and_restarted_Then_every_job_ends_once_in_an_output_or_the_DLQ()
    {
        using var kit = new RemoteKit(moto.Endpoint, "kc");
        Assert.Equal(0, (await kit.ProvisionAsync(5)).ExitCode); // visibility 30 s: killed work comes back within the test
        byte[][] pictures = [.. Enumerable.Range(1, 4).Select(seed => Images.ShapeOnTexture(160, 120, seed).Jpeg)];
        var poison = new HashSet<int>(Enumerable.Range(0, Poison).Select(i => 17 + (i * 37)));
        await Parallel.ForEachAsync(Enumerable.Range(0, Jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await kit.PutAsync(kit.InBucket, $"in/{i:D3}.jpg", poison.Contains(i) ? [0xFF, 0xD8, 0xFF, 0x00, 0x01] : pictures[i % pictures.Length]));
        await kit.SendAsync(Enumerable.Range(0, Jobs).Select(i => RemoteKit.Job($"s3://{kit.InBucket}/in/{i:D3}.jpg", $"s3://{kit.OutBucket}/out/{i:D3}.png")));
        string pipeline = kit.PipelineFile(5);
        string firstLog = Path.Combine(kit.Folder, "calls-1.log");
        string secondLog = Path.Combine(kit.Folder, "calls-2.log");
        string[] common = ["--endpoint-url", kit.Url, "--prefix", kit.Prefix, "--wait-time-seconds", "1", "--claim-lease", "4", "--heartbeat", "1", "--max-concurrency", $"{Lanes}"];

        // Given a host well into the backlog, When it is killed outright,
        using (Process first = Bgpipe.StartCapturing(out _, ["run", pipeline, "--call-log", firstLog, .. common]))
        {
            await RemoteKit.UntilAsync(async () => (await kit.ListAsync(kit.OutBucket, "out/")).Count >= 40, "40 outputs before the kill", 240);
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }

        int doneAtKill = (await kit.ListAsync(kit.OutBucket, "out/")).Count;
        Assert.True(doneAtKill < Jobs - Poison, "the kill came before the end of the backlog");

        // In flight at the kill: calls the first host started whose idempotency record is not COMPLETED (running, or
        // finished but not yet recorded).
        Dictionary<string, string> statusAtKill = await kit.StatusesAsync();
        var inFlight = Calls(firstLog).Where(c => !IsPoison(c.Source, poison) && statusAtKill.GetValueOrDefault(c.Key) != "COMPLETED").Select(c => c.Key).ToHashSet();

        // and a new host starts, Then the backlog completes.
        using Process second = Bgpipe.StartCapturing(out Func<string> secondOutput, ["run", pipeline, "--call-log", secondLog, .. common]);
        try
        {
            // The queue is part of the condition: a job's output is written before its message is deleted, so the last
            // deletes may still be on their way when the last output appears (seen on a loaded machine).
            try
            {
                await RemoteKit.UntilAsync(
                    async () => (await kit.ListAsync(kit.OutBucket, "out/")).Count == Jobs - Poison
                        && (await kit.CountAsync(kit.Prefix + "jobs-dlq")).Visible == Poison
                        && await kit.CountAsync(kit.Prefix + "jobs") == (0, 0),
                    $"{Jobs - Poison} outputs, {Poison} dead letters and an empty queue",
                    720); // 195 inferences on 2 lanes, while the Kinesis crash tests share the 2 CI cores (one run needed > 420 s)
            }
            catch (TimeoutException ex)
            {
                // The counts go last as well as first: CI shows the tail of a long message.
                string counts = $"outputs {(await kit.ListAsync(kit.OutBucket, "out/")).Count}, DLQ {await kit.CountAsync(kit.Prefix + "jobs-dlq")}, " +
                    $"jobs {await kit.CountAsync(kit.Prefix + "jobs")}";
                string[] lines = secondOutput().Split('\n');
                throw new TimeoutException(
                    $"{ex.Message}; {counts}; the last 40 lines of the second host's output:\n{string.Join('\n', lines[Math.Max(0, lines.Length - 40)..])}\n(then) {counts}", ex);
            }
        }
        finally
        {
            Bgpipe.Terminate(second);
            await second.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Every good job has its one output; every poison job is in the DLQ with its reason on record.
        var outputs = (await kit.ListAsync(kit.OutBucket, "out/")).Select(o => o.Key).ToHashSet();
        var expected = Enumerable.Range(0, Jobs).Where(i => !poison.Contains(i)).Select(i => $"out/{i:D3}.png").ToHashSet();
        Assert.Equal(expected, outputs);
        var failures = await kit.PermanentFailuresAsync();
        Assert.Equal(Poison, failures.Count);
        Assert.All(failures, f => Assert.False(string.IsNullOrWhiteSpace(f.Reason)));
        Assert.Equal(0, second.ExitCode);
        Assert.DoesNotContain("   at ", secondOutput(), StringComparison.Ordinal);

        // Repeated work is at most what was in flight at the kill, which is a handful (two lanes, each running one image
        // and possibly one finished image whose completion was not yet written).
        var firstCalls = Calls(firstLog).Where(c => !IsPoison(c.Source, poison)).Select(c => c.Key).ToHashSet();
        var secondCalls = Calls(secondLog).Where(c => !IsPoison(c.Source, poison)).Select(c => c.Key).ToHashSet();
        var repeated = firstCalls.Intersect(secondCalls).ToHashSet();
        Assert.Subset(inFlight, repeated);
        Assert.True(inFlight.Count <= 2 * Lanes, $"{inFlight.Count} calls were in flight with {Lanes} lanes");
        Assert.Equal(Jobs - Poison, firstCalls.Union(secondCalls).Count());
        Assert.Equal(Jobs - Poison, firstCalls.Count + secondCalls.Count - repeated.Count);
    }

    /// <summary>Call-log lines are "{idempotency key}\t{source}".</summary>
    private static List<(string Key, string Source)> Calls(string path) =>
        File.Exists(path) ? [.. File.ReadAllLines(path).Select(l => l.Split('\t')).Select(f => (f[0], f[1]))] : [];

    private static bool IsPoison(string source, HashSet<int> poison) =>
        poison.Contains(int.Parse(source[^7..^4], System.Globalization.CultureInfo.InvariantCulture));
}
