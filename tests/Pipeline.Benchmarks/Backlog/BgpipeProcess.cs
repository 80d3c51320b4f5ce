using System.Diagnostics;

namespace Pipeline.Benchmarks.Backlog;

/// <summary>Starts the built bgpipe (next to this harness) as a child process.</summary>
internal static class BgpipeProcess
{
    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bgpipe.dll"));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        Process p = Process.Start(start)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("  bgpipe: " + e.Data);
            }
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static async Task<int> RunAsync(params string[] args)
    {
        using Process p = Start(args);
        await p.WaitForExitAsync();
        return p.ExitCode;
    }

    /// <summary>Copies images of a set into a backlog folder, repeating them until there are <paramref name="count"/> files.</summary>
    public static string MakeBacklog(string imagesDir, int count, string into)
    {
        string[] sources = Directory.GetFiles(imagesDir).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
        Directory.CreateDirectory(into);
        for (int i = 0; i < count; i++)
        {
            // Subfolders of 100 keep listings reasonable; each copy is its own job.
            string dir = Path.Combine(into, $"part{i / 100:D3}");
            Directory.CreateDirectory(dir);
            File.Copy(sources[i % sources.Length], Path.Combine(dir, $"img{i:D5}.jpg"), overwrite: true);
        }

        return into;
    }

    public static int CountOutputs(string outDir) =>
        Directory.Exists(outDir) ? Directory.EnumerateFiles(outDir, "*.png", SearchOption.AllDirectories).Count() : 0;
}
