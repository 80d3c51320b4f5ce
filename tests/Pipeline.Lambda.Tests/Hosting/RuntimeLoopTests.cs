using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.Hosting;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Tests.Fakes;
using Pipeline.Lambda.Tests.Handlers;

namespace Pipeline.Lambda.Tests.Hosting;

public sealed class RuntimeLoopTests
{
    private static (LambdaFunction Function, HandlerHarness Harness) NewFunction()
    {
        var h = new HandlerHarness();
        return (new LambdaFunction(h.Sqs, h.Kinesis), h);
    }

    [Fact]
    public async Task GivenSqsThenKinesisThenAnSnsEvent_WhenTheLoopRuns_ThenEachIsAnsweredAndTheUnknownSourceIsAnInvocationError()
    {
        await using var api = FakeRuntimeApi.Start();
        using var client = new RuntimeApiClient(api.Host);
        (LambdaFunction function, HandlerHarness h) = NewFunction();
        using var stop = new CancellationTokenSource();
        var loop = new RuntimeLoop(client, function.HandleAsync, NullLogger.Instance);
        Task running = loop.RunAsync(stop.Token);
        DateTimeOffset deadline = h.Deadline(TimeSpan.FromMinutes(5));

        byte[] sqs = JsonSerializer.SerializeToUtf8Bytes(HandlerHarness.SqsEventOf(HandlerHarness.Job("a"), "garbage"), LambdaJsonContext.Default.SqsEvent);
        byte[] kinesis = JsonSerializer.SerializeToUtf8Bytes(HandlerHarness.KinesisEventOf(HandlerHarness.Job("k")), LambdaJsonContext.Default.KinesisEvent);
        RuntimePost sqsPost = await api.Invoke(sqs, deadline).WaitAsync(TimeSpan.FromSeconds(20));
        RuntimePost kinesisPost = await api.Invoke(kinesis, deadline).WaitAsync(TimeSpan.FromSeconds(20));
        RuntimePost snsPost = await api.Invoke(Encoding.UTF8.GetBytes("{\"Records\":[{\"EventSource\":\"x\",\"eventSource\":\"aws:sns\"}]}"), deadline).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(("response", "{\"batchItemFailures\":[{\"itemIdentifier\":\"msg-1\"}]}"), (sqsPost.Kind, sqsPost.Body));
        Assert.Equal(("response", "{\"batchItemFailures\":[]}"), (kinesisPost.Kind, kinesisPost.Body));
        Assert.Equal("error", snsPost.Kind);
        Assert.Equal(nameof(UnsupportedEventException), snsPost.ErrorType);
        using (JsonDocument error = JsonDocument.Parse(snsPost.Body))
        {
            Assert.Contains("eventSource 'aws:sns' is not handled", error.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(["a", "k"], h.Function.Invoked.Select(j => j.JobId));
        Assert.StartsWith("Root=1-5759e988", Environment.GetEnvironmentVariable(RuntimeLoop.TraceIdVariable), StringComparison.Ordinal);

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(running.IsCompletedSuccessfully);
    }
}
