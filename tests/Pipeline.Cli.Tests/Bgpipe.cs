using System.Diagnostics;

namespace Pipeline.Cli.Tests;

/// <summary>Runs the built bgpipe as a child process and captures what a user would see.</summary>
internal static class Bgpipe
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string[] ErrorLines => StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        /// <summary>True when the output shows a .NET stack trace, which users must never get.</summary>
        public bool HasStackTrace => (StdOut + StdErr).Contains("   at ", StringComparison.Ordinal);
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "bgpipe.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
