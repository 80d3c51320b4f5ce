using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Core.Invocation;
using Pipeline.Lambda.Events;
using static Pipeline.Lambda.Tests.Handlers.HandlerHarness;

namespace Pipeline.Lambda.Tests.Handlers;

/// <summary>
/// SQS events whose bodies are MassTransit envelopes (captured from MassTransit 8 itself), handled with the decoder
/// LambdaStack gives both handlers.
/// </summary>
public sealed class MassTransitEnvelopeHandlerTests
{
    private static readonly TimeSpan Plenty = TimeSpan.FromMinutes(5);

    private static string Captured() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "masstransit-remove-background.json"), Encoding.UTF8);

    [Fact]
    public async Task GivenAnSqsEventWhoseBodyIsACapturedEnvelope_WhenHandled_ThenTheJobRunsAndNothingFails()
    {
        var h = new HandlerHarness();

        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(SqsEventOf(Captured(), Job("plain")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(response.BatchItemFailures);
        Assert.Equal(["mt-captured-1", "plain"], h.Function.Invoked.Select(j => j.JobId));
        Pipeline.Core.Records.Job job = h.Function.Invoked[0];
        Assert.Equal("s3://bgpipe-input/photos/a.jpg", job.Source);
        Assert.Equal("s3://bgpipe-output/a.png", job.Destination);
    }

    [Fact]
    public async Task GivenTheSameEnvelopeDeliveredTwice_WhenHandled_ThenTheJobRunsOnce()
    {
        var h = new HandlerHarness();
        await h.Sqs.HandleAsync(SqsEventOf(Captured()), h.Deadline(Plenty), CancellationToken.None);

        BatchItemFailuresResponse again = await h.Sqs.HandleAsync(SqsEventOf(Captured()), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(again.BatchItemFailures);
        Assert.Single(h.Function.Invoked);
    }

    [Fact]
    public async Task GivenAnEnvelopeOfAnotherMessageType_WhenHandled_ThenOnlyItFailsAndTheFunctionNeverSeesIt()
    {
        var h = new HandlerHarness();
        JsonObject other = JsonNode.Parse(Captured())!.AsObject();
        other["messageType"] = new JsonArray("urn:message:Shop.Contracts:OrderPlaced");

        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(SqsEventOf(other.ToJsonString(), Job("ok")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Equal(["msg-0"], response.BatchItemFailures.Select(f => f.ItemIdentifier));
        Assert.Equal(["ok"], h.Function.Invoked.Select(j => j.JobId));
    }
}
