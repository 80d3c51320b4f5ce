using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Deployment;

/// <summary>
/// infra-sam/Makefile, the targets <c>sam build</c> runs (BuildMethod: makefile), and infra-sam/samconfig.toml, which
/// picks each architecture's wrapper. The function's publish runs only where src/Pipeline.Lambda exists.
/// </summary>
public sealed partial class SamBuildTargetTests
{
    private static readonly string Makefile = RepositoryRoot.Combine("infra-sam", "Makefile");

    private static readonly string LambdaProject = RepositoryRoot.Combine("src", "Pipeline.Lambda", "Pipeline.Lambda.csproj");

    [MakeFact]
    public void Given_the_model_layer_target_When_run_Then_the_pinned_model_lands_at_models_u2netp_onnx()
    {
        // The target fetches the model when the cache lacks it (build/Model.targets); building this test project
        // has normally cached it already (Pipeline.BackgroundRemoval imports the same targets).
        string artifacts = Directory.CreateTempSubdirectory("bgpipe-layer-").FullName;
        try
        {
            ToolResult r = Make(["-f", Makefile, "build-ModelLayer", $"ARTIFACTS_DIR={artifacts}"]);

            Assert.True(r.ExitCode == 0, r.ToString());
            string model = Path.Combine(artifacts, "models", "u2netp.onnx");
            Assert.True(File.Exists(model), $"no {model}: {r}");
            Assert.Equal(PinnedModelSha256(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(model))));
            Assert.Equal([model], Directory.GetFiles(artifacts, "*", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(artifacts, recursive: true);
        }
    }

    [MakeTheory]
    [InlineData("x86_64")]
    [InlineData("arm64")]
    public void Given_sams_invocation_from_a_scratch_directory_When_the_layer_is_built_through_a_wrapper_Then_the_model_lands_there(string architecture)
    {
        // What the makefile workflow does: `make --makefile <manifest> build-<LogicalId>` with ARTIFACTS_DIR in the
        // environment and a scratch copy of the ContentUri as the working directory, far from the repository.
        string scratch = Directory.CreateTempSubdirectory("bgpipe-scratch-").FullName;
        string artifacts = Directory.CreateTempSubdirectory("bgpipe-layer-").FullName;
        try
        {
            ToolResult r = DeploymentTools.Run(DeploymentTools.Make!, ["--makefile", RepositoryRoot.Combine("infra-sam", $"{architecture}.mk"), "build-ModelLayer"], scratch,
                TimeSpan.FromMinutes(3), new Dictionary<string, string> { ["ARTIFACTS_DIR"] = artifacts });

            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal(PinnedModelSha256(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(artifacts, "models", "u2netp.onnx")))));
            Assert.Empty(Directory.GetFileSystemEntries(scratch));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
            Directory.Delete(artifacts, recursive: true);
        }
    }

    [MakeFact]
    public void Given_no_artifacts_directory_When_a_target_runs_Then_it_fails_naming_ARTIFACTS_DIR()
    {
        ToolResult r = Make(["-f", Makefile, "build-ModelLayer"]);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("ARTIFACTS_DIR is not set", r.StdErr, StringComparison.Ordinal);
    }

    [MakeTheory]
    [InlineData("", "no target architecture: give ARCHITECTURE=x86_64|arm64")]
    [InlineData("ARCHITECTURE=sparc", "unsupported ARCHITECTURE 'sparc': expected x86_64 or arm64")]
    [InlineData("RID=linux-musl-x64", "unsupported runtime id 'linux-musl-x64'")]
    public void Given_no_or_a_wrong_architecture_When_the_function_target_runs_Then_it_refuses_before_publishing(string variable, string message)
    {
        string artifacts = Directory.CreateTempSubdirectory("bgpipe-fn-").FullName;
        try
        {
            ToolResult r = Make(["-f", Makefile, "build-BgpipeFunction", $"ARTIFACTS_DIR={artifacts}", .. variable.Length > 0 ? new[] { variable } : []]);

            Assert.Equal(2, r.ExitCode);
            Assert.Contains(message, r.StdErr, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(artifacts));
        }
        finally
        {
            Directory.Delete(artifacts, recursive: true);
        }
    }

    [MakeTheory]
    [InlineData("x86_64", "linux-x64")]
    [InlineData("arm64", "linux-arm64")]
    public void Given_an_architectures_wrapper_When_the_function_target_is_planned_Then_it_publishes_self_contained_ReadyToRun_for_that_runtime(string architecture, string rid)
    {
        // make -n prints the commands without running them: the wiring is checked without a publish.
        ToolResult r = Make(["-n", "-f", RepositoryRoot.Combine("infra-sam", $"{architecture}.mk"), "build-BgpipeFunction", "ARTIFACTS_DIR=/tmp/bgpipe-planned"]);

        Assert.True(r.ExitCode == 0, r.ToString());
        string publish = Assert.Single(r.StdOut.Split('\n'), l => l.StartsWith("dotnet publish ", StringComparison.Ordinal));
        Assert.Contains($"\"{LambdaProject}\"", publish, StringComparison.Ordinal);
        Assert.Contains($" -r {rid} ", publish, StringComparison.Ordinal);
        Assert.Contains(" --self-contained ", publish, StringComparison.Ordinal);
        Assert.Contains(" -p:PublishReadyToRun=true ", publish, StringComparison.Ordinal);
        Assert.Contains(" -c Release ", publish, StringComparison.Ordinal);
        Assert.EndsWith("-o \"/tmp/bgpipe-planned\"", publish, StringComparison.Ordinal);
    }

    [LambdaProjectTheory]
    [InlineData("x86_64", (ushort)0x3E)]
    [InlineData("arm64", (ushort)0xB7)]
    public void Given_the_function_project_When_its_target_runs_Then_bootstrap_is_an_executable_for_the_architecture_and_the_model_is_left_to_the_layer(string architecture, ushort elfMachine)
    {
        string artifacts = Directory.CreateTempSubdirectory("bgpipe-fn-").FullName;
        try
        {
            ToolResult r = Make(["-f", Makefile, "build-BgpipeFunction", $"ARCHITECTURE={architecture}", $"ARTIFACTS_DIR={artifacts}"], TimeSpan.FromMinutes(15));

            Assert.True(r.ExitCode == 0, r.ToString());
            string bootstrap = Path.Combine(artifacts, "bootstrap");
            if (!OperatingSystem.IsWindows())
            {
                Assert.True(File.GetUnixFileMode(bootstrap).HasFlag(UnixFileMode.UserExecute), $"{bootstrap} is not executable");
            }

            byte[] header = File.ReadAllBytes(bootstrap)[..20];
            Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
            Assert.Equal(elfMachine, BitConverter.ToUInt16(header, 18));
            Assert.False(Directory.Exists(Path.Combine(artifacts, "models")), "the function zip carries the model; it comes from the layer");
        }
        finally
        {
            Directory.Delete(artifacts, recursive: true);
        }
    }

    [SamTranslatorFact]
    public void Given_samconfig_When_read_Then_each_architecture_builds_with_its_wrapper_and_deploys_its_own_stack_with_that_parameter()
    {
        // tomllib (python 3.11+) reads the file as sam does.
        ToolResult r = DeploymentTools.Run(DeploymentTools.Python!, ["-c", "import json, sys, tomllib; json.dump(tomllib.load(open(sys.argv[1], 'rb')), sys.stdout)", RepositoryRoot.Combine("infra-sam", "samconfig.toml")],
            RepositoryRoot.Path, TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.ToString());
        JsonObject config = JsonNode.Parse(r.StdOut)!.AsObject();
        IReadOnlyList<string> architectures = ExpandedTemplate.For().AllowedValues("Architecture");
        string samDirectory = RepositoryRoot.Combine("infra-sam");

        Assert.Equal(architectures.Order(StringComparer.Ordinal), config.Where(c => c.Key != "version").Select(c => c.Key).Order(StringComparer.Ordinal));
        var stacks = new HashSet<string>(StringComparer.Ordinal);
        foreach (string architecture in architectures)
        {
            JsonNode env = config[architecture]!;
            JsonNode build = env["build"]!["parameters"]!;
            JsonNode deploy = env["deploy"]!["parameters"]!;
            Assert.True(stacks.Add((string)env["global"]!["parameters"]!["stack_name"]!), $"{architecture} shares its stack name");
            Assert.Equal(Path.GetFullPath(RepositoryRoot.Combine("template.yaml")), Path.GetFullPath(Path.Combine(samDirectory, (string)build["template_file"]!)));
            Assert.Equal($"Architecture={architecture}", (string?)build["parameter_overrides"]);
            Assert.Equal($"Architecture={architecture}", (string?)deploy["parameter_overrides"]);
            Assert.Equal("CAPABILITY_IAM", (string?)deploy["capabilities"]);
            Assert.True((bool)deploy["resolve_s3"]!);
            Assert.Null(deploy["template_file"]);

            // The wrapper sam build uses as its Makefile sets this architecture and includes the Makefile.
            string wrapper = File.ReadAllText(Path.Combine(samDirectory, (string)build["manifest"]!));
            Assert.Matches(new Regex($"^ARCHITECTURE := {Regex.Escape(architecture)}$", RegexOptions.Multiline), wrapper);
            Assert.Contains("include ", wrapper, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Given_the_template_When_its_build_metadata_is_read_Then_both_resources_build_with_the_infra_sam_makefile_targets()
    {
        string template = File.ReadAllText(RepositoryRoot.Combine("template.yaml"));
        string makefile = File.ReadAllText(Makefile);

        foreach (string logicalId in new[] { "BgpipeFunction", "ModelLayer" })
        {
            Assert.Matches(new Regex($"^  {logicalId}:\\n    Type: AWS::Serverless::\\w+\\n    Metadata:\\n(      #.*\\n)*      BuildMethod: makefile\\n      ContextPath: infra-sam\\n", RegexOptions.Multiline), template);
            Assert.Matches(new Regex($"^build-{logicalId}:", RegexOptions.Multiline), makefile);
        }

        Assert.True(Directory.Exists(RepositoryRoot.Combine("infra-sam", "model-layer")), "the layer's ContentUri folder is missing");
    }

    private static ToolResult Make(IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        DeploymentTools.Run(DeploymentTools.Make!, arguments, RepositoryRoot.Path, timeout ?? TimeSpan.FromMinutes(3));

    private static string PinnedModelSha256() =>
        PinnedSha().Match(File.ReadAllText(RepositoryRoot.Combine("build", "Model.targets"))).Groups[1].Value.ToLowerInvariant();

    [GeneratedRegex("<BgpipeModelSha256>([0-9a-fA-F]{64})</BgpipeModelSha256>")]
    private static partial Regex PinnedSha();
}

/// <summary>Needs make, dotnet and src/Pipeline.Lambda (written separately); skips saying which is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LambdaProjectTheoryAttribute : TheoryAttribute
{
    public LambdaProjectTheoryAttribute() =>
        Skip = DeploymentTools.WhyNoMake
            ?? (File.Exists(RepositoryRoot.Combine("src", "Pipeline.Lambda", "Pipeline.Lambda.csproj"))
                ? null
                : "src/Pipeline.Lambda/Pipeline.Lambda.csproj is not in this tree yet, so there is no function to publish");
}
