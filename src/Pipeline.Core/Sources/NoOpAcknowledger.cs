using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Core.Sources;

/// <summary>
/// Acknowledges nothing, for invokers whose outcomes are settled elsewhere and that have no redelivery clock:
/// <list type="bullet">
/// <item>stream lanes: a stream has no per-record acknowledgement or visibility; the checkpoint, written by the
/// shard's checkpointer, is the acknowledgement;</item>
/// <item>the Lambda handler: the event source mapping deletes or checkpoints from the function's
/// <c>batchItemFailures</c> response, so the function never talks to the source;</item>
/// <item>the MassTransit consumer: MassTransit acks, retries or faults the message from what the consumer returns or
/// throws.</item>
/// </list>
/// </summary>
public sealed class NoOpAcknowledger : IBatchAcknowledger
{
    public static NoOpAcknowledger Instance { get; } = new();

    private NoOpAcknowledger()
    {
    }

    /// <summary>
    /// Zero: no visibility timeout to keep in-process retries under; they are bounded by the host's own limits (the
    /// invoker options, and inside Lambda the deadline gate).
    /// </summary>
    public TimeSpan VisibilityTimeout => TimeSpan.Zero;

    public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
