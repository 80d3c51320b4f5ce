using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Lambda.Handlers;

/// <summary>
/// Acknowledges nothing: inside Lambda the event source mapping deletes or checkpoints from the function's
/// <c>batchItemFailures</c> response, so the function never talks to the source.
/// </summary>
internal sealed class ResponseAcknowledger : IBatchAcknowledger
{
    public static ResponseAcknowledger Instance { get; } = new();

    /// <summary>Zero: the in-process retry budget is bounded by the deadline gate, not by a visibility timeout.</summary>
    public TimeSpan VisibilityTimeout => TimeSpan.Zero;

    public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
