using System.Diagnostics;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Deployment;

/// <summary>The command-line tools the deployment tests drive, and why a test skips when one is missing.</summary>
internal static class DeploymentTools
{
    public static readonly string? CfnLint = FindOnPath("cfn-lint");

    public static readonly string? Python = FindOnPath("python3");

    public static readonly string? Make = FindOnPath("make");

    public static readonly string? Dotnet = FindOnPath("dotnet");

    private static readonly Lazy<string?> SamTranslatorProblem = new(() =>
    {
        if (Python is null)
        {
            return "python3 is not on PATH, so the template cannot be expanded with aws-sam-translator";
        }

        ToolResult r = Run(Python, ["-c", "import samtranslator"], RepositoryRoot.Path, TimeSpan.FromSeconds(60));
        return r.ExitCode == 0 ? null : $"aws-sam-translator is not installed for {Python} (pip install aws-sam-translator): {r.StdErr.Trim()}";
    });

    public static string? WhyNoCfnLint => CfnLint is null ? "cfn-lint is not on PATH (pip install cfn-lint)" : null;

    public static string? WhyNoSamTranslator => SamTranslatorProblem.Value;

    public static string? WhyNoMake =>
        Make is null ? "make is not on PATH, so the SAM build targets cannot run"
        : Dotnet is null ? "dotnet is not on PATH, so the SAM build targets cannot run"
        : null;

    public static ToolResult Run(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} ran past {timeout}");
        }

        return new ToolResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
}

internal sealed record ToolResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>Needs cfn-lint on PATH; skips saying so otherwise.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CfnLintFactAttribute : FactAttribute
{
    public CfnLintFactAttribute() => Skip = DeploymentTools.WhyNoCfnLint;
}

/// <summary>Needs python3 with aws-sam-translator; skips saying which is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SamTranslatorFactAttribute : FactAttribute
{
    public SamTranslatorFactAttribute() => Skip = DeploymentTools.WhyNoSamTranslator;
}

/// <summary>The theory form of <see cref="SamTranslatorFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SamTranslatorTheoryAttribute : TheoryAttribute
{
    public SamTranslatorTheoryAttribute() => Skip = DeploymentTools.WhyNoSamTranslator;
}

/// <summary>Needs make and dotnet on PATH; skips saying which is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MakeFactAttribute : FactAttribute
{
    public MakeFactAttribute() => Skip = DeploymentTools.WhyNoMake;
}

/// <summary>The theory form of <see cref="MakeFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MakeTheoryAttribute : TheoryAttribute
{
    public MakeTheoryAttribute() => Skip = DeploymentTools.WhyNoMake;
}
