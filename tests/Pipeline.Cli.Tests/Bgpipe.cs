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

    /// <summary>Starts bgpipe without waiting; its output is discarded.</summary>
    public static Process Start(params string[] args)
    {
        Process p = Process.Start(Info(args))!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Starts bgpipe without waiting; <paramref name="stderr"/> returns what it has written to stderr and stdout so far.</summary>
    public static Process StartCapturing(out Func<string> stderr, params string[] args)
    {
        var text = new System.Text.StringBuilder();
        var gate = new object();
        Process p = Process.Start(Info(args))!;
        void Keep(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    text.AppendLine(line);
                }
            }
        }

        p.OutputDataReceived += (_, e) => Keep(e.Data);
        p.ErrorDataReceived += (_, e) => Keep(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        stderr = () =>
        {
            lock (gate)
            {
                return text.ToString();
            }
        };
        return p;
    }

    /// <summary>Sends SIGTERM, as a service manager would.</summary>
    public static void Terminate(Process process)
    {
        if (!process.HasExited)
        {
            using Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
        }
    }

    private static ProcessStartInfo Info(string[] args)
    {
        // The apphost (not 'dotnet bgpipe.dll') so that signals reach bgpipe itself.
        string host = Path.Combine(AppContext.BaseDirectory, "bgpipe");
        var start = new ProcessStartInfo(File.Exists(host) ? host : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (!File.Exists(host))
        {
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bgpipe.dll"));
        }

        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        using var process = Process.Start(Info(args))!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
