using System.Globalization;
using Pipeline.Core.Hosting;
using Spectre.Console;

namespace Pipeline.Cli.Backlog;

/// <summary>
/// Shows a run's progress: a live bar with rate and ETA on a terminal (Spectre.Console), plain lines otherwise (CI logs,
/// pipes), so a redirected run never fills its log with escape codes.
/// </summary>
internal static class ProgressView
{
    public static async Task RunAsync(int total, Func<long> processed, Func<long> failed, Task finished, CancellationToken cancellationToken)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    ProgressTask task = ctx.AddTask("images", maxValue: Math.Max(total, 1));
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    while (true)
                    {
                        long done = processed();
                        task.Value = done;
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"{done}/{total} images, {done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):0.0}/s, {failed()} failed");
                        if (finished.IsCompleted || cancellationToken.IsCancellationRequested)
                        {
                            break;
                        }

                        await Task.WhenAny(finished, Task.Delay(200, CancellationToken.None)).ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);
            return;
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        long last = -1;
        while (!finished.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(finished, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
            long done = processed();
            if (done == last || finished.IsCompleted)
            {
                continue;
            }

            last = done;
            double rate = done / Math.Max(started.Elapsed.TotalSeconds, 1e-3);
            double eta = rate > 0 ? (total - done) / rate : double.NaN;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {done}/{total} images, {rate:0.0}/s, {failed()} failed, ETA {(double.IsNaN(eta) ? "?" : eta.ToString("0", CultureInfo.InvariantCulture) + " s")}"));
        }
    }
}
