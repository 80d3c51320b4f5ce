using System.Text;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Pipeline.Aws.Sqs;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.Client.Messages;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.MassTransit.Tests.Fakes;
using Pipeline.MassTransit.Tests.Fixtures;
using Pipeline.Testing.Emulators;
using Wait = Pipeline.Testing.Wait;
using Pipeline.Testing.Mappings;

namespace Pipeline.MassTransit.Tests.Interop;

/// <summary>
/// Envelopes captured from MassTransit itself (not written by hand), put as the body of an SQS message on
/// moto_server and run by the pipeline's own SQS poller and mapping with its default decoder.
/// </summary>
[Collection(ModelAndMotoCollection.Name)]
public sealed class EnvelopeInteropTests(ModelFixture model, MotoFixture moto)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static readonly InvokerOptions FastInvoker = TestInvokers.Fast;

    [Fact]
    public async Task Given_an_envelope_MassTransit_wrote_When_it_is_decoded_Then_it_is_the_job_the_message_asked_for()
    {
        (byte[] body, string contentType) = await EnvelopeCapture.CaptureAsync(
            new RemoveBackground("photos/a.jpg") { JobId = "mt-1", Destination = "cutouts/a.png", Output = RemoveBackgroundOutput.Mask, Background = "#00FF00" });

        Assert.Equal("application/vnd.masstransit+json", contentType);
        Assert.True(AutoJobDecoder.IsEnvelope(body));
        Assert.True(AutoJobDecoder.Instance.TryDecode(body, out Job? job, out string? error), error);
        Assert.Equal(new Job { JobId = "mt-1", Source = "photos/a.jpg", Destination = "cutouts/a.png", Output = OutputKind.Mask, Background = "#00FF00", Key = "mt-1" }, job);
    }

    [Fact]
    public async Task Given_a_message_with_only_a_source_When_MassTransit_serializes_it_Then_the_message_holds_only_job_fields_and_keys_like_a_plain_job()
    {
        (byte[] body, _) = await EnvelopeCapture.CaptureAsync(new RemoveBackground("photos/b.jpg"));

        using JsonDocument doc = JsonDocument.Parse(body);
        JsonElement message = doc.RootElement.GetProperty("message");
        Assert.All(message.EnumerateObject(), p => Assert.Contains(p.Name, new[] { "jobId", "source", "destination", "output", "background" }));
        Assert.True(JsonJobDecoder.Instance.TryDecode("{\"source\":\"photos/b.jpg\"}"u8, out Job? plain, out _));
        Assert.True(AutoJobDecoder.Instance.TryDecode(body, out Job? enveloped, out string? error), error);
        Assert.Equal(plain!.Key, enveloped!.Key);
    }

    [Fact]
    public async Task Given_an_envelope_of_another_message_type_When_decoded_Then_the_error_names_that_type()
    {
        (byte[] body, _) = await EnvelopeCapture.CaptureAsync(new ResizeImage("photos/a.jpg", 100));

        Assert.False(AutoJobDecoder.Instance.TryDecode(body, out _, out string? error));
        Assert.Contains("urn:message:Pipeline.MassTransit.Tests.Fixtures:ResizeImage", error, StringComparison.Ordinal);
        Assert.Contains("not RemoveBackground", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_the_committed_capture_Then_it_has_the_shape_MassTransit_writes_today()
    {
        (byte[] body, _) = await EnvelopeCapture.CaptureAsync(
            new RemoveBackground("s3://bgpipe-input/photos/a.jpg") { JobId = "mt-captured-1", Destination = "s3://bgpipe-output/a.png" });
        await File.WriteAllBytesAsync(Path.Combine(Path.GetTempPath(), "masstransit-remove-background.captured.json"), body);

        using JsonDocument fresh = JsonDocument.Parse(body);
        using JsonDocument committed = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Data", "masstransit-remove-background.json")));
        Assert.Equal(Names(fresh.RootElement), Names(committed.RootElement));
        Assert.Equal(fresh.RootElement.GetProperty("messageType").GetRawText(), committed.RootElement.GetProperty("messageType").GetRawText());
        Assert.Equal(fresh.RootElement.GetProperty("message").GetRawText(), committed.RootElement.GetProperty("message").GetRawText());

        static string[] Names(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Given_a_captured_envelope_on_an_SQS_queue_When_the_mapping_runs_Then_the_cutout_is_written_and_the_message_deleted()
    {
        (string input, string output) = Photos.Folders("coffee.png");
        (byte[] body, _) = await EnvelopeCapture.CaptureAsync(new RemoveBackground("coffee.png") { JobId = "mt-sqs-coffee", Destination = "sqs/coffee.png" });
        using IAmazonSQS sqs = moto.Endpoint.CreateSqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, "mt-jobs");
        await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = queue.Url, MessageBody = Encoding.UTF8.GetString(body) });
        var calls = new CountingCallLog();
        var function = new FileBackgroundRemovalFunction(new FileRoots(input, output), new BackgroundRemover(model.Model), calls);

        await using var source = new SqsRecordSource(sqs, queue, new SqsSourceOptions { Queue = queue.Url, WaitTimeSeconds = 1 });
        EventSourceMapping mapping = Mapping(source, function, null);
        await RunUntilAsync(mapping, async () => mapping.Statistics.SucceededEventCount == 1 && await CountAsync(sqs, queue.Url) == (0, 0), "the envelope's job to run and its message to be deleted");

        Photos.AssertCutout(Path.Combine(output, "sqs", "coffee.png"));
        (string key, string calledSource) = Assert.Single(calls.Calls);
        Assert.StartsWith("mt-sqs-coffee#", key, StringComparison.Ordinal);
        Assert.Equal("coffee.png", calledSource);
        Directory.Delete(Path.GetDirectoryName(input)!, recursive: true);
    }

    [Fact]
    public async Task Given_a_captured_envelope_of_another_type_on_an_SQS_queue_When_the_mapping_runs_Then_it_fails_permanently_naming_the_type()
    {
        (string input, string output) = Photos.Folders();
        (byte[] body, _) = await EnvelopeCapture.CaptureAsync(new ResizeImage("coffee.png", 64));
        using IAmazonSQS sqs = moto.Endpoint.CreateSqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, "mt-wrong");
        await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = queue.Url, MessageBody = Encoding.UTF8.GetString(body) });
        var calls = new CountingCallLog();
        var function = new FileBackgroundRemovalFunction(new FileRoots(input, output), new BackgroundRemover(model.Model), calls);
        using var logs = new RecordingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));

        await using var source = new SqsRecordSource(sqs, queue, new SqsSourceOptions { Queue = queue.Url, WaitTimeSeconds = 1 });
        EventSourceMapping mapping = Mapping(source, function, loggers);
        await RunUntilAsync(mapping, () => Task.FromResult(mapping.Statistics.PermanentFailureEventCount >= 1), "the envelope to fail permanently");

        string line = Assert.Single(logs.Lines, l => l.Contains("failed permanently", StringComparison.Ordinal) && l.Contains("ResizeImage", StringComparison.Ordinal));
        Assert.Contains("urn:message:Pipeline.MassTransit.Tests.Fixtures:ResizeImage", line, StringComparison.Ordinal);
        Assert.Empty(calls.Calls);
        Assert.Equal(0, mapping.Statistics.SucceededEventCount);
        Directory.Delete(Path.GetDirectoryName(input)!, recursive: true);
    }

    private static EventSourceMapping Mapping(SqsRecordSource source, IJobFunction function, ILoggerFactory? loggers)
    {
        MappingOptions options = SqsMappingDefaults.For(false, concurrency: 1, invoker: FastInvoker);
        var guard = new IdempotencyGuard(new InMemoryIdempotencyStore(), "mt-test/1/1/a", new LocalProcessLiveness(), TimeProvider.System, options.Invoker.ClaimLease);
        // No decoder given: the mapping's default must recognise the envelope.
        return new EventSourceMapping(options, source, function, guard, TimeProvider.System, loggerFactory: loggers);
    }

    private static Task RunUntilAsync(EventSourceMapping mapping, Func<Task<bool>> done, string what) =>
        MappingRun.UntilAsync(mapping, done, what, Bound);

    private static async Task<SqsQueueInfo> CreateQueueAsync(IAmazonSQS sqs, string prefix)
    {
        string url = (await sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = $"{prefix}-{Guid.NewGuid():N}",
            Attributes = new Dictionary<string, string> { ["VisibilityTimeout"] = "30" },
        })).QueueUrl;
        return await SqsQueues.DescribeAsync(sqs, url);
    }

    private static async Task<(int Visible, int InFlight)> CountAsync(IAmazonSQS sqs, string url)
    {
        GetQueueAttributesResponse r = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = url,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        });
        return (r.ApproximateNumberOfMessages, r.ApproximateNumberOfMessagesNotVisible);
    }
}
