using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Batching;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Records;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.Handlers;
using Pipeline.Lambda.Tests.Fakes;

namespace Pipeline.Lambda.Tests.Handlers;

/// <summary>Handlers over a fake function, an in-memory idempotency store and a fake clock.</summary>
internal sealed class HandlerHarness
{
    public HandlerHarness(DeadlineOptions? deadline = null, Action<HandlerHarness, Pipeline.Core.Records.Job>? onInvoke = null)
    {
        Function = new RecordingFunction { OnInvoke = onInvoke is null ? null : job => onInvoke(this, job) };
        var guard = new IdempotencyGuard(Store, "test-owner", new LocalProcessLiveness(), Time, TimeSpan.FromSeconds(15));
        DeadlineOptions d = deadline ?? DeadlineOptions.Default;
        Sqs = new SqsHandler(new BatchHandler(Function, guard, AutoJobDecoder.Instance, BatchHandler.LambdaInvokerOptions, BatchingOptions.ForSqs(), d, Time, NullLogger.Instance));
        Kinesis = new KinesisHandler(new BatchHandler(
            Function, guard, AutoJobDecoder.Instance, BatchHandler.LambdaInvokerOptions with { StopOnFirstFailure = true }, BatchingOptions.ForKinesis(), d, Time, NullLogger.Instance));
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    public InMemoryIdempotencyStore Store { get; } = new();

    public RecordingFunction Function { get; }

    public SqsHandler Sqs { get; }

    public KinesisHandler Kinesis { get; }

    public DateTimeOffset Deadline(TimeSpan left) => Time.GetUtcNow() + left;

    public static string Job(string id, string source = "s3://bgpipe-input/photos/a.jpg") =>
        $"{{\"jobId\":\"{id}\",\"source\":\"{source}\",\"destination\":\"s3://bgpipe-output/{id}.png\"}}";

    public static SqsEvent SqsEventOf(params string[] bodies) => new()
    {
        Records = [.. bodies.Select((body, i) => new SqsMessage
        {
            MessageId = $"msg-{i}",
            ReceiptHandle = $"handle-{i}",
            Body = body,
            Attributes = new Dictionary<string, string> { ["ApproximateReceiveCount"] = "1", ["SentTimestamp"] = "1763841600000" },
            MessageAttributes = new Dictionary<string, SqsMessageAttribute>(),
            Md5OfBody = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body))),
            EventSource = EventSources.Sqs,
            EventSourceArn = "arn:aws:sqs:us-east-1:123456789012:bgpipe-jobs",
            AwsRegion = "us-east-1",
        })],
    };

    public static string Sequence(int i) => $"4959073744856474561389209763750978867{1_000_000_000_000L + i:D13}";

    public static KinesisEvent KinesisEventOf(params string[] bodies) => KinesisEventOfData([.. bodies.Select(b => Convert.ToBase64String(Encoding.UTF8.GetBytes(b)))]);

    public static KinesisEvent KinesisEventOfData(params string[] data) => new()
    {
        Records = [.. data.Select((d, i) => new KinesisEventRecord
        {
            Kinesis = new KinesisRecord
            {
                PartitionKey = $"pk-{i}",
                KinesisSchemaVersion = "1.0",
                Data = d,
                SequenceNumber = Sequence(i),
                ApproximateArrivalTimestamp = 1763841600.25 + i,
            },
            EventSource = EventSources.Kinesis,
            EventId = $"shardId-000000000000:{Sequence(i)}",
            EventVersion = "1.0",
            EventName = "aws:kinesis:record",
            EventSourceArn = "arn:aws:kinesis:us-east-1:123456789012:stream/bgpipe-jobs",
            AwsRegion = "us-east-1",
        })],
    };
}
