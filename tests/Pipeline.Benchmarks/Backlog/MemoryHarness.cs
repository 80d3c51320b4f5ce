using System.Globalization;

namespace Pipeline.Benchmarks.Backlog;

/// <summary>
/// <c>backlog-memory &lt;images-dir&gt; [count]</c>: a backlog of <c>count</c> images (the set repeated, default 2,000)
/// under <c>bgpipe backlog</c>, sampling the child's RSS from /proc every 100 ms against the number of outputs. Prints
/// the peak (VmHWM) and the RSS when output 500 and the last output appeared.
/// </summary>
internal static class MemoryHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        string images = args.Length > 0 ? args[0] : "../shared/data/composites/images";
        int count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        string work = Directory.CreateTempSubdirectory("bgpipe-mem-").FullName;
        var inv = CultureInfo.InvariantCulture;
        try
        {
            string input = BgpipeProcess.MakeBacklog(images, count, Path.Combine(work, "in"));
            string output = Path.Combine(work, "out");
            using System.Diagnostics.Process p = BgpipeProcess.Start("backlog", input, "--out", output);
            long peak = 0;
            int lastReported = 0;
            var samples = new List<(int Outputs, long Rss)>();
            using var sampling = new PeriodicTimer(TimeSpan.FromMilliseconds(100)); // the sampling period, not a wait
            while (!p.HasExited)
            {
                (long rss, long hwm) = Read(p.Id);
                if (rss == 0)
                {
                    break;
                }

                peak = Math.Max(peak, hwm);
                int outputs = BgpipeProcess.CountOutputs(output);
                samples.Add((outputs, rss));

                if (outputs >= lastReported + (count / 10))
                {
                    lastReported = outputs;
                    Console.WriteLine(string.Create(inv, $"  {outputs,5} outputs: RSS {rss / 1048576.0:0.0} MB, peak {hwm / 1048576.0:0.0} MB"));
                }

                await sampling.WaitForNextTickAsync();
            }

            await p.WaitForExitAsync();
            int total = BgpipeProcess.CountOutputs(output);

            // RSS swings by the ~280 MB a model run holds while it runs, so compare medians of the samples taken
            // around output 500 and over the last 100 outputs rather than two single readings.
            int early = Math.Min(500, count / 4);
            double atEarly = Median(samples.Where(x => Math.Abs(x.Outputs - early) <= 50).Select(x => x.Rss));
            double atEnd = Median(samples.Where(x => x.Outputs >= total - 100).Select(x => x.Rss));
            double growth = (atEnd - atEarly) / atEarly;
            Console.WriteLine(string.Create(inv,
                $"{total}/{count} outputs, exit {p.ExitCode}; peak RSS {peak / 1048576.0:0.0} MB; median RSS around output {early}: {atEarly / 1048576.0:0.0} MB, over the last 100 outputs: {atEnd / 1048576.0:0.0} MB ({growth:+0.0%;-0.0%})"));
            return p.ExitCode == 0 && peak < 400L * 1048576 && Math.Abs(growth) <= 0.10 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static double Median(IEnumerable<long> values)
    {
        long[] sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2.0;
    }

    private static (long Rss, long Hwm) Read(int pid)
    {
        try
        {
            long rss = 0, hwm = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kb(line);
                }
            }

            return (rss, hwm);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    private static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
