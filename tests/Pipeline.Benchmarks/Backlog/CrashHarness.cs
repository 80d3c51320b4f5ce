using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SkiaSharp;

namespace Pipeline.Benchmarks.Backlog;

/// <summary>
/// <c>backlog-crash &lt;images-dir&gt; [count] [kill-after...]</c>: for each kill point, a fresh 300-image backlog is
/// started, SIGKILLed once that many outputs exist, and rerun to the end. Checks that every image ends with exactly one
/// readable PNG, no temp file is left, nothing is dead-lettered, and that the work done twice (function calls, from
/// the call log, for jobs called both before and after the kill) is at most the jobs in flight at the kill (claims
/// still IN_PROGRESS in the state database).
/// </summary>
internal static class CrashHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        string images = args.Length > 0 ? args[0] : "../shared/data/composites/images";
        int count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 300;
        int[] killAfter = args.Length > 2 ? args[2..].Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : [30, 150, 270];
        string work = Directory.CreateTempSubdirectory("bgpipe-crash-").FullName;
        string input = BgpipeProcess.MakeBacklog(images, count, Path.Combine(work, "in"));
        bool allGood = true;
        try
        {
            foreach (int kill in killAfter)
            {
                allGood &= await OneAsync(input, Path.Combine(work, $"out-{kill}"), Path.Combine(work, $"calls-{kill}.log"), count, kill);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        Console.WriteLine(allGood ? "crash: all kill points passed" : "crash: FAILED");
        return allGood ? 0 : 1;
    }

    private static async Task<bool> OneAsync(string input, string output, string callLog, int count, int killAfter)
    {
        using (Process first = BgpipeProcess.Start("backlog", input, "--out", output, "--call-log", callLog))
        {
            var clock = Stopwatch.StartNew();
            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20)); // poll the output count, bounded by 10 min
            while (BgpipeProcess.CountOutputs(output) < killAfter && !first.HasExited && clock.Elapsed < TimeSpan.FromMinutes(10))
            {
                await poll.WaitForNextTickAsync();
            }

            first.Kill(entireProcessTree: true); // SIGKILL
            await first.WaitForExitAsync();
        }

        int outputsAtKill = BgpipeProcess.CountOutputs(output);
        string[] callsBefore = File.Exists(callLog) ? File.ReadAllLines(callLog) : [];
        int inFlight = CountInProgress(Path.Combine(output, ".bgpipe", "state.db"));

        int exit = await BgpipeProcess.RunAsync("backlog", input, "--out", output, "--call-log", callLog);
        string[] callsAll = File.ReadAllLines(callLog);
        var before = callsBefore.Select(Key).ToHashSet(StringComparer.Ordinal);
        int repeated = callsAll.Skip(callsBefore.Length).Count(l => before.Contains(Key(l)));

        string[] pngs = Directory.GetFiles(output, "*.png", SearchOption.AllDirectories);
        int unreadable = pngs.Count(p => { using SKBitmap? b = SKBitmap.Decode(p); return b is null; });
        int temps = Directory.GetFiles(output, ".*", SearchOption.AllDirectories).Count(f => !f.Contains("/.bgpipe/", StringComparison.Ordinal));
        int deadLines = File.ReadAllLines(Path.Combine(output, "dead-letters.jsonl")).Count(l => l.Length > 0);
        bool ok = exit == 0 && pngs.Length == count && unreadable == 0 && temps == 0 && deadLines == 0 && repeated <= inFlight;
        Console.WriteLine(
            $"kill after {killAfter,3} outputs: {outputsAtKill} outputs at the kill, {callsBefore.Length} calls before, {inFlight} in flight; " +
            $"rerun exit {exit}, {pngs.Length}/{count} PNGs ({unreadable} unreadable, {temps} temp files), {deadLines} dead letters, " +
            $"{repeated} repeated calls (<= {inFlight} in flight): {(ok ? "PASS" : "FAIL")}");
        return ok;
    }

    private static string Key(string line) => line.Split('\t')[0];

    private static int CountInProgress(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM idempotency WHERE status = 1";
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
