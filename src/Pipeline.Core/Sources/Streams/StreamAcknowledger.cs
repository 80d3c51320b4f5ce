using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Core.Sources.Streams;

/// <summary>
/// The acknowledger of stream lanes: a stream has no per-record acknowledgement or visibility (the checkpoint is the
/// acknowledgement, written by the shard's checkpointer), so every call is a no-op. A zero visibility timeout tells
/// the invoker there is no redelivery clock to keep its in-process retries under.
/// </summary>
public sealed class StreamAcknowledger : IBatchAcknowledger
{
    public static StreamAcknowledger Instance { get; } = new();

    private StreamAcknowledger()
    {
    }

    public TimeSpan VisibilityTimeout => TimeSpan.Zero;

    public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
