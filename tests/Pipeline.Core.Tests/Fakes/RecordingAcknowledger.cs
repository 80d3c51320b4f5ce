using System.Collections.Concurrent;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Core.Tests.Fakes;

/// <summary>An acknowledger that remembers what it was told, for asserting on outcomes.</summary>
internal sealed class RecordingAcknowledger(TimeSpan visibilityTimeout) : IBatchAcknowledger
{
    public RecordingAcknowledger() : this(TimeSpan.FromSeconds(30)) { }

    public TimeSpan VisibilityTimeout { get; } = visibilityTimeout;

    public ConcurrentQueue<ItemResult> Acknowledged { get; } = new();

    public ConcurrentQueue<SourceRecord> Extended { get; } = new();

    public ConcurrentQueue<SourceRecord> Released { get; } = new();

    public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        foreach (ItemResult r in results)
        {
            Acknowledged.Enqueue(r);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken)
    {
        foreach (SourceRecord r in records)
        {
            Extended.Enqueue(r);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (SourceRecord r in records)
        {
            Released.Enqueue(r);
        }

        return ValueTask.CompletedTask;
    }
}
