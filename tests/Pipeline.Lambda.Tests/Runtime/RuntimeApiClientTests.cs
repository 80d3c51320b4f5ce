using System.Text;
using System.Text.Json;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Tests.Fakes;

namespace Pipeline.Lambda.Tests.Runtime;

public sealed class RuntimeApiClientTests
{
    [Fact]
    public async Task GivenAQueuedInvocation_WhenNextIsFetched_ThenIdDeadlineArnTraceAndPayloadArrive()
    {
        await using var api = FakeRuntimeApi.Start();
        using var client = new RuntimeApiClient(api.Host);
        DateTimeOffset deadline = DateTimeOffset.FromUnixTimeMilliseconds(1763841660123);
        _ = api.Invoke("{\"Records\":[]}"u8.ToArray(), deadline, out string id);

        InvocationRequest request = await client.GetNextInvocationAsync(CancellationToken.None);

        Assert.Equal(id, request.RequestId);
        Assert.Equal(deadline, request.Deadline);
        Assert.Equal(FakeRuntimeApi.FunctionArn, request.InvokedFunctionArn);
        Assert.StartsWith("Root=1-", request.TraceId, StringComparison.Ordinal);
        Assert.Equal("{\"Records\":[]}", Encoding.UTF8.GetString(request.Payload.Span));
    }

    [Fact]
    public async Task GivenAnInvocation_WhenTheResponseIsPosted_ThenTheServerRecordsItForThatRequest()
    {
        await using var api = FakeRuntimeApi.Start();
        using var client = new RuntimeApiClient(api.Host);
        Task<RuntimePost> outcome = api.Invoke("{}"u8.ToArray(), DateTimeOffset.UtcNow.AddMinutes(1), out string id);

        await client.SendResponseAsync(id, "{\"batchItemFailures\":[]}"u8.ToArray(), CancellationToken.None);

        RuntimePost post = await outcome.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("response", post.Kind);
        Assert.Equal("{\"batchItemFailures\":[]}", post.Body);
    }

    [Fact]
    public async Task GivenAFailedInvocation_WhenTheErrorIsPosted_ThenTheBodyAndErrorTypeHeaderFollowTheRuntimeApi()
    {
        await using var api = FakeRuntimeApi.Start();
        using var client = new RuntimeApiClient(api.Host);
        Task<RuntimePost> outcome = api.Invoke("{}"u8.ToArray(), DateTimeOffset.UtcNow.AddMinutes(1), out string id);

        await client.SendInvocationErrorAsync(id, new RuntimeErrorBody("boom", "BoomException", ["at A", "at B"]), CancellationToken.None);

        RuntimePost post = await outcome.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("error", post.Kind);
        Assert.Equal("BoomException", post.ErrorType);
        using JsonDocument body = JsonDocument.Parse(post.Body);
        Assert.Equal("boom", body.RootElement.GetProperty("errorMessage").GetString());
        Assert.Equal("BoomException", body.RootElement.GetProperty("errorType").GetString());
        Assert.Equal(2, body.RootElement.GetProperty("stackTrace").GetArrayLength());
    }

    [Fact]
    public void GivenNoRuntimeApiVariable_WhenTheClientIsCreated_ThenTheErrorNamesTheVariable()
    {
        var ex = Assert.Throws<RuntimeApiException>(() => RuntimeApiClient.FromEnvironment(_ => null));
        Assert.Contains("AWS_LAMBDA_RUNTIME_API", ex.Message, StringComparison.Ordinal);
    }
}
