using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Lambda.Hosting;
using Pipeline.Lambda.Tests.Fakes;

namespace Pipeline.Lambda.Tests.Hosting;

public sealed class LambdaHostTests
{
    private static Func<string, string?> Env(Dictionary<string, string> values) => name => values.GetValueOrDefault(name);

    private static async Task<(int ExitCode, RuntimePost InitError, TimeSpan Took)> RunInitAsync(FakeRuntimeApi api, Dictionary<string, string> env)
    {
        env["AWS_LAMBDA_RUNTIME_API"] = api.Host;
        var clock = Stopwatch.StartNew();
        int exit = await LambdaHost.RunAsync(Env(env), TimeProvider.System, NullLoggerFactory.Instance, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        TimeSpan took = clock.Elapsed;
        RuntimePost error = await api.InitError.WaitAsync(TimeSpan.FromSeconds(1));
        return (exit, error, took);
    }

    [Fact]
    public async Task GivenTheModelLayerIsMissing_WhenTheFunctionStarts_ThenInitErrorNamesThePathAndTheLayerAndItExitsFast()
    {
        await using var api = FakeRuntimeApi.Start();
        string missing = Path.Combine(Path.GetTempPath(), $"no-layer-{Guid.NewGuid():N}", "u2netp.onnx");

        (int exit, RuntimePost error, TimeSpan took) = await RunInitAsync(api, new()
        {
            ["BGPIPE_MODEL_PATH"] = missing,
            ["BGPIPE_IDEMPOTENCY_TABLE"] = "bgpipe-idempotency",
            ["BGPIPE_BUCKETS"] = "bgpipe-input,bgpipe-output",
        });

        Assert.Equal(LambdaHost.InitFailed, exit);
        using JsonDocument body = JsonDocument.Parse(error.Body);
        Assert.Equal($"model not found at {missing}: deploy the ModelLayer (it puts u2netp.onnx under /opt/models) or point BGPIPE_MODEL_PATH at the model file",
            body.RootElement.GetProperty("errorMessage").GetString());
        Assert.Equal("ModelNotFoundException", error.ErrorType);
        Assert.Equal(0, api.NextCalls);
        Assert.True(took < TimeSpan.FromSeconds(10), $"init failure took {took}");
    }

    [Theory]
    [InlineData(null, "bgpipe-input", "BGPIPE_IDEMPOTENCY_TABLE is not set")]
    [InlineData("t", null, "BGPIPE_BUCKETS is not set")]
    [InlineData("t", " , ", "BGPIPE_BUCKETS ',' lists no bucket")]
    [InlineData("t", "Bad_Bucket!", "BGPIPE_BUCKETS lists 'Bad_Bucket!'")]
    public async Task GivenBadConfiguration_WhenTheFunctionStarts_ThenInitErrorNamesTheVariable(string? table, string? buckets, string expected)
    {
        await using var api = FakeRuntimeApi.Start();
        var env = new Dictionary<string, string>();
        if (table is not null)
        {
            env["BGPIPE_IDEMPOTENCY_TABLE"] = table;
        }

        if (buckets is not null)
        {
            env["BGPIPE_BUCKETS"] = buckets;
        }

        (int exit, RuntimePost error, _) = await RunInitAsync(api, env);

        Assert.Equal(LambdaHost.InitFailed, exit);
        Assert.Equal(nameof(LambdaConfigurationException), error.ErrorType);
        using JsonDocument body = JsonDocument.Parse(error.Body);
        Assert.Contains(expected, body.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenNoRuntimeApi_WhenTheFunctionStarts_ThenItExitsWithItsOwnCode()
    {
        int exit = await LambdaHost.RunAsync(_ => null, TimeProvider.System, NullLoggerFactory.Instance, CancellationToken.None);

        Assert.Equal(LambdaHost.NoRuntimeApi, exit);
    }

    [Fact]
    public void GivenNoOptionalVariables_WhenSettingsAreRead_ThenTheDocumentedDefaultsApply()
    {
        LambdaSettings s = LambdaSettings.FromEnvironment(Env(new() { ["BGPIPE_IDEMPOTENCY_TABLE"] = "t", ["BGPIPE_BUCKETS"] = " a-bucket , b-bucket " }));

        Assert.Equal("/opt/models/u2netp.onnx", s.ModelPath);
        Assert.Equal(["a-bucket", "b-bucket"], s.Buckets);
        Assert.Null(s.OutputPrefix);
        Assert.Null(s.EndpointUrl);
        Assert.Equal(TimeSpan.FromSeconds(2), s.Deadline.MinimumMargin);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Deadline.MarginFor(TimeSpan.FromMinutes(5)));
    }
}
