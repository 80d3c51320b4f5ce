using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws.Sqs;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Aws.Tests.Sqs.Fakes;

/// <summary>A function whose behaviour each test scripts; it records every call in order.</summary>
internal sealed class ScriptedJobFunction(Func<Job, InvocationContext, CancellationToken, ValueTask<JobOutput>> body) : IJobFunction
{
    public ConcurrentQueue<(Job Job, InvocationContext Context)> Calls { get; } = new();

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        Calls.Enqueue((job, context));
        return body(job, context, cancellationToken);
    }

    public static ScriptedJobFunction NoOp() => new((job, _, _) => ValueTask.FromResult(new JobOutput("out/" + job.Source)));
}

internal sealed class NobodyDies : IOwnerLiveness
{
    public static NobodyDies Instance { get; } = new();

    public bool IsDefinitelyDead(string owner) => false;
}

internal static class SqsTestKit
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);

    /// <summary>Short periods so a test runs in seconds: backoff rounds up to SQS's 1 s, heartbeat every 300 ms.</summary>
    public static InvokerOptions FastInvoker => Pipeline.Testing.Mappings.TestInvokers.Fast;

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(70, prefix.Length + 33)];

    public static async Task<SqsQueueInfo> CreateQueueAsync(IAmazonSQS sqs, string name, int visibilitySeconds = 2, SqsQueueInfo? deadLetter = null, int maxReceiveCount = 5, bool fifo = false, int? maximumMessageSize = null)
    {
        var attributes = new Dictionary<string, string> { ["VisibilityTimeout"] = visibilitySeconds.ToString(CultureInfo.InvariantCulture) };
        if (deadLetter is not null)
        {
            attributes["RedrivePolicy"] = $$"""{"deadLetterTargetArn":"{{deadLetter.Arn}}","maxReceiveCount":{{maxReceiveCount}}}""";
        }

        if (fifo)
        {
            attributes["FifoQueue"] = "true";
        }

        if (maximumMessageSize is { } max)
        {
            attributes["MaximumMessageSize"] = max.ToString(CultureInfo.InvariantCulture);
        }

        string url = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = fifo ? name + ".fifo" : name, Attributes = attributes })).QueueUrl;
        return await SqsQueues.DescribeAsync(sqs, url);
    }

    public static async Task SendJobsAsync(IAmazonSQS sqs, SqsQueueInfo queue, IEnumerable<string> bodies)
    {
        var sender = new SqsJobSender(sqs, queue);
        await sender.SendAsync(bodies.Select(b => new SqsOutgoingMessage(b)).ToList());
    }

    public static string Job(string id) => $$"""{"jobId":"{{id}}","source":"in/{{id}}.jpg"}""";

    /// <summary>(visible, in flight) as ApproximateNumberOfMessages and ApproximateNumberOfMessagesNotVisible say.</summary>
    public static async Task<(int Visible, int InFlight)> CountAsync(IAmazonSQS sqs, string url)
    {
        GetQueueAttributesResponse r = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = url,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        });
        return (r.ApproximateNumberOfMessages, r.ApproximateNumberOfMessagesNotVisible);
    }

    /// <summary>Receives until <paramref name="count"/> messages were got (each received once, then left in flight).</summary>
    public static async Task<List<Message>> ReceiveAllAsync(IAmazonSQS sqs, string url, int count)
    {
        var got = new List<Message>();
        await Pipeline.Testing.Wait.UntilAsync(async () =>
        {
            ReceiveMessageResponse r = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                VisibilityTimeout = 30,
                MessageSystemAttributeNames = ["All"],
            });
            got.AddRange(r.Messages ?? []);
            return got.Count >= count;
        }, $"{count} message(s) on {url}", Bound);
        return got;
    }

    public static EventSourceMapping Mapping(SqsRecordSource source, IJobFunction function, MappingOptions options, InMemoryIdempotencyStore? store = null) =>
        new(options, source, function, new IdempotencyGuard(store ?? new InMemoryIdempotencyStore(), "test-host/1/1/a", NobodyDies.Instance, TimeProvider.System, options.Invoker.ClaimLease));

    public static SqsSourceOptions Options(SqsQueueInfo queue) => new() { Queue = queue.Url, WaitTimeSeconds = 1 };
}

/// <summary>
/// Wraps a real client and, while <see cref="FailDeletes"/> is above zero, answers DeleteMessageBatch with every entry
/// failed on the server's side (without sending it), so retries of failed entries can be observed on a real queue.
/// </summary>
internal class FaultySqs : DispatchProxy
{
    private IAmazonSQS _inner = null!;

    public int FailDeletes;

    public int DeleteCalls;

    public static (IAmazonSQS Client, FaultySqs Faults) Wrap(IAmazonSQS inner)
    {
        IAmazonSQS proxy = Create<IAmazonSQS, FaultySqs>();
        var faults = (FaultySqs)(object)proxy;
        faults._inner = inner;
        return (proxy, faults);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(IAmazonSQS.DeleteMessageBatchAsync) && args?[0] is DeleteMessageBatchRequest request)
        {
            Interlocked.Increment(ref DeleteCalls);
            if (Interlocked.Decrement(ref FailDeletes) >= 0)
            {
                return Task.FromResult(new DeleteMessageBatchResponse
                {
                    Successful = [],
                    Failed = request.Entries.Select(e => new BatchResultErrorEntry { Id = e.Id, Code = "InternalError", Message = "injected server-side failure", SenderFault = false }).ToList(),
                });
            }
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}
