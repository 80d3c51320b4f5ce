using System.Diagnostics;
using Pipeline.Testing;

namespace Pipeline.Lambda.Tests.Hosting;

/// <summary>
/// Publishes the function once per test run, the way the SAM build does (self-contained, ReadyToRun, linux-x64), into
/// a temporary folder: <c>dotnet publish src/Pipeline.Lambda -r linux-x64 -c Release --self-contained
/// -p:PublishReadyToRun=true -o &lt;tmp&gt;</c>.
/// </summary>
public sealed class PublishedBootstrapFixture : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"bgpipe-lambda-publish-{Guid.NewGuid():N}");

    public string Bootstrap => Path.Combine(Directory, "bootstrap");

    public async Task InitializeAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot.Path,
        };
        foreach (string arg in new[]
        {
            "publish", RepositoryRoot.Combine("src", "Pipeline.Lambda"), "-r", "linux-x64", "-c", "Release", "--self-contained",
            "-p:PublishReadyToRun=true", "-o", Directory, "-nologo",
        })
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        await process.WaitForExitAsync(limit.Token);
        if (process.ExitCode != 0 || !File.Exists(Bootstrap))
        {
            throw new InvalidOperationException($"dotnet publish failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }

    public Task DisposeAsync()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }

        return Task.CompletedTask;
    }
}

public static class LambdaCollections
{
    public const string Bootstrap = "published bootstrap + moto_server";
}

[CollectionDefinition(LambdaCollections.Bootstrap)]
public sealed class BootstrapCollection : ICollectionFixture<PublishedBootstrapFixture>, ICollectionFixture<Pipeline.Testing.Emulators.MotoFixture>;
