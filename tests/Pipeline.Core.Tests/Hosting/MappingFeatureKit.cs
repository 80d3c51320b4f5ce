using System.Text;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Embedded;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Hosting;

/// <summary>An embedded queue, a DLQ and a store, with helpers to build and run a mapping over them.</summary>
internal sealed class MappingFeatureKit
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static readonly InvokerOptions FastBackoff = InvokerOptions.Default with
    {
        SourceBackoffBase = TimeSpan.FromMilliseconds(5),
        SourceBackoffMax = TimeSpan.FromMilliseconds(20),
        RetryAttempts = 1,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
    };

    public MappingFeatureKit()
    {
        Dlq = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "dlq" }, TimeProvider.System);
        Queue = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "jobs", ReceiveWaitTime = TimeSpan.FromMilliseconds(20), VisibilityTimeout = TimeSpan.FromSeconds(30) }, TimeProvider.System, Dlq);
    }

    public InMemoryIdempotencyStore Store { get; } = new();

    public EmbeddedQueue Dlq { get; }

    public EmbeddedQueue Queue { get; }

    public EventSourceMapping Mapping(ScriptedFunction function, MappingOptions options) =>
        new(options with { Invoker = FastBackoff }, new EmbeddedQueueSource(Queue), function,
            new IdempotencyGuard(Store, "host/1/1/a", FakeLiveness.NobodyDies, TimeProvider.System, TimeSpan.FromSeconds(15)));

    public static MappingOptions Options(int batchSize = 10) => new() { Batching = BatchingOptions.ForSqs(batchSize), Name = $"test-{Guid.NewGuid():N}" };

    public void Send(string body) => Queue.Send(Encoding.UTF8.GetBytes(body));

    public void SendJob(string jobId, string source = "in/a.jpg") => Send($$"""{"jobId":"{{jobId}}","source":"{{source}}"}""");

    public async Task RunUntilEmptyAsync(EventSourceMapping mapping)
    {
        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Bound);
        await stop.CancelAsync();
        await run.WaitAsync(Bound);
    }
}
