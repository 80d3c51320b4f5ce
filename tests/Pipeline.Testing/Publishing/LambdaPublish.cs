using System.Diagnostics;

namespace Pipeline.Testing.Publishing;

/// <summary>What one <c>dotnet publish</c> of the Lambda function gave: its exit code and everything it printed.</summary>
public sealed record PublishResult(int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Publishes src/Pipeline.Lambda self-contained for a runtime id, as infra-sam's build targets do; used by the
/// architecture tests and the cold-start benchmark so both measure the same package.
/// </summary>
public static class LambdaPublish
{
    /// <param name="runtimeId">linux-x64 or linux-arm64.</param>
    /// <param name="properties">Extra MSBuild switches, e.g. <c>-p:PublishReadyToRun=true</c>.</param>
    public static async Task<PublishResult> RunAsync(string runtimeId, string properties, string output)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runtimeId);
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        string project = RepositoryRoot.Combine("src", "Pipeline.Lambda", "Pipeline.Lambda.csproj");
        var info = new ProcessStartInfo("dotnet", $"publish \"{project}\" -c Release -r {runtimeId} --self-contained {properties} -o \"{output}\" -nologo")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new PublishResult(process.ExitCode, (await stdout) + (await stderr));
    }
}
