using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// The embedded queue on the poller's seam: receives with the queue's long-poll wait and applies outcomes the way
/// Lambda's SQS event source mapping does (delete what succeeded, change the visibility of the rest).
/// </summary>
/// <remarks>
/// Acknowledgements are in-memory and instant, so they run to the end even when the token is cancelled: dropping
/// one half-way through a shutdown would only cause avoidable redeliveries. A stale handle (the visibility ran out and
/// the message was received again) is not an error: the message simply reappears after its visibility timeout, so
/// nothing is lost; it is counted in <see cref="StaleAcknowledgements"/> because a steady rate of them means the
/// visibility timeout is too short for the work.
/// </remarks>
public sealed class EmbeddedQueueSource : IRecordSource, IBatchAcknowledger
{
    private long _staleAcknowledgements;

    public EmbeddedQueueSource(EmbeddedQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        Queue = queue;
    }

    public EmbeddedQueue Queue { get; }

    /// <summary><c>embedded://{queue name}</c>, the same identity the records carry as their source.</summary>
    public string Name => Queue.SourceName;

    public IBatchAcknowledger Acknowledger => this;

    public TimeSpan VisibilityTimeout => Queue.VisibilityTimeout;

    /// <summary>Acknowledgements whose receipt handle was no longer the message's latest (or was missing).</summary>
    public long StaleAcknowledgements => Interlocked.Read(ref _staleAcknowledgements);

    public ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken) =>
        Queue.ReceiveAsync(Math.Min(maxRecords, EmbeddedQueueConstants.MaxMessagesPerReceive), Queue.Options.ReceiveWaitTime, cancellationToken);

    public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        List<string>? deletes = null;
        int stale = 0;
        for (int i = 0; i < results.Count; i++)
        {
            ItemResult result = results[i];
            string? handle = result.Record.ReceiptHandle;
            if (handle is null)
            {
                stale++;
                continue;
            }

            switch (result.Outcome)
            {
                case ItemOutcome.Succeeded:
                case ItemOutcome.Skipped:
                case ItemOutcome.Filtered:
                    (deletes ??= new List<string>(results.Count)).Add(handle);
                    break;
                case ItemOutcome.Released:
                    // Not a failure: the reason (shutdown, FIFO cut) must not overwrite the last real failure.
                    stale += Queue.ChangeVisibility(handle, TimeSpan.Zero) ? 0 : 1;
                    break;
                default:
                    // Retry, PermanentFailure, Deferred: the result's delay is the backoff (zero for a permanent
                    // failure, so the next receive fails it fast and the redrive moves it sooner).
                    stale += Queue.ChangeVisibility(handle, ClampVisibility(result.Delay), result.Reason) ? 0 : 1;
                    break;
            }
        }

        if (deletes is not null)
        {
            stale += deletes.Count - Queue.DeleteBatch(deletes);
        }

        CountStale(stale);
        return ValueTask.CompletedTask;
    }

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken)
    {
        ChangeAll(records, ClampVisibility(visibility));
        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        ChangeAll(records, TimeSpan.Zero);
        return ValueTask.CompletedTask;
    }

    // A backoff computed past SQS's 12 h ceiling (or below zero) should still hide the message, not fail the batch.
    private static TimeSpan ClampVisibility(TimeSpan visibility) =>
        visibility < TimeSpan.Zero ? TimeSpan.Zero
        : visibility > EmbeddedQueueConstants.MaxVisibilityTimeout ? EmbeddedQueueConstants.MaxVisibilityTimeout
        : visibility;

    private void ChangeAll(IReadOnlyList<SourceRecord> records, TimeSpan visibility)
    {
        ArgumentNullException.ThrowIfNull(records);
        int stale = 0;
        for (int i = 0; i < records.Count; i++)
        {
            string? handle = records[i].ReceiptHandle;
            if (handle is null || !Queue.ChangeVisibility(handle, visibility))
            {
                stale++;
            }
        }

        CountStale(stale);
    }

    private void CountStale(int stale)
    {
        if (stale > 0)
        {
            Interlocked.Add(ref _staleAcknowledgements, stale);
        }
    }
}
