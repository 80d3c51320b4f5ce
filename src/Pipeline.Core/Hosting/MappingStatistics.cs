using Pipeline.Core.Invocation;
using Pipeline.Core.Telemetry;

namespace Pipeline.Core.Hosting;

/// <summary>
/// Counters of one mapping, named after the ESM's CloudWatch metrics where one exists. Cheap enough for the hot
/// path (one interlocked add per event), and readable at any time for progress and summaries. When the mapping has
/// <see cref="MappingMetrics"/>, every ESM-named count is also recorded on the <see cref="MappingMeter"/> instruments,
/// from the same call, so the two never disagree.
/// </summary>
public sealed class MappingStatistics
{
    private readonly MappingMetrics? _metrics;
    private long _polled;
    private long _invoked;
    private long _succeeded;
    private long _skipped;
    private long _retried;
    private long _failedPermanently;
    private long _deferred;
    private long _released;
    private long _dropped;
    private long _onFailureDelivered;
    private long _batches;
    private long _fullBatches;
    private long _filteredOut;
    private long _deleted;
    private long _polls;
    private long _emptyPolls;
    private long _fullPolls;
    private long _keptHidden;

    public MappingStatistics()
    {
    }

    public MappingStatistics(MappingMetrics? metrics) => _metrics = metrics;

    /// <summary>Records received from the source (PolledEventCount).</summary>
    public long PolledEventCount => Interlocked.Read(ref _polled);

    /// <summary>Function calls, retries included (InvokedEventCount counts records handed to the function).</summary>
    public long InvokedEventCount => Interlocked.Read(ref _invoked);

    public long SucceededEventCount => Interlocked.Read(ref _succeeded);

    /// <summary>Duplicates acknowledged without running.</summary>
    public long SkippedEventCount => Interlocked.Read(ref _skipped);

    /// <summary>Retriable failures returned to the source (FailedInvokeEventCount counts these and permanent ones).</summary>
    public long RetriedEventCount => Interlocked.Read(ref _retried);

    public long PermanentFailureEventCount => Interlocked.Read(ref _failedPermanently);

    public long FailedInvokeEventCount => RetriedEventCount + PermanentFailureEventCount;

    public long DeferredEventCount => Interlocked.Read(ref _deferred);

    public long ReleasedEventCount => Interlocked.Read(ref _released);

    /// <summary>Records that matched no filter of the mapping's FilterCriteria (FilteredOutEventCount).</summary>
    public long FilteredOutEventCount => Interlocked.Read(ref _filteredOut);

    /// <summary>
    /// Records the source accepted as done (DeletedEventCount): succeeded, duplicates and filtered-out records whose
    /// acknowledgement call returned without error.
    /// </summary>
    public long DeletedEventCount => Interlocked.Read(ref _deleted);

    /// <summary>
    /// Visibility extensions of records still waiting for a lane (not yet in a running batch) whose wait outlasted half
    /// a visibility timeout: each one is a redelivery, and a receive count, that did not happen.
    /// </summary>
    public long KeptHiddenEventCount => Interlocked.Read(ref _keptHidden);

    /// <summary>Stream records given up on for retry exhaustion or age (DroppedEventCount), delivered to a destination or not.</summary>
    public long DroppedEventCount => Interlocked.Read(ref _dropped);

    /// <summary>Stream records whose discarded batch was described to the on-failure destination (OnFailureDestinationDeliveredEventCount).</summary>
    public long OnFailureDestinationDeliveredEventCount => Interlocked.Read(ref _onFailureDelivered);

    public long BatchCount => Interlocked.Read(ref _batches);

    /// <summary>Batches that finished holding a full BatchSize (the lanes had more waiting: a scaling signal).</summary>
    public long FullBatchCount => Interlocked.Read(ref _fullBatches);

    /// <summary>Receive calls that returned (with or without records).</summary>
    public long PollCount => Interlocked.Read(ref _polls);

    /// <summary>Receive calls that returned no records.</summary>
    public long EmptyPollCount => Interlocked.Read(ref _emptyPolls);

    /// <summary>Receive calls that returned as many records as were asked for (the source has more waiting).</summary>
    public long FullPollCount => Interlocked.Read(ref _fullPolls);

    internal void AddPoll(int received, int asked)
    {
        Interlocked.Increment(ref _polls);
        if (received == 0)
        {
            Interlocked.Increment(ref _emptyPolls);
        }
        else if (received >= asked)
        {
            Interlocked.Increment(ref _fullPolls);
        }
    }

    public void AddPolled(int n)
    {
        Interlocked.Add(ref _polled, n);
        _metrics?.Polled(n);
    }

    internal void AddInvoked()
    {
        Interlocked.Increment(ref _invoked);
        _metrics?.Invoked();
    }

    public void AddReleased(int n) => Interlocked.Add(ref _released, n);

    public void AddDropped(int n)
    {
        Interlocked.Add(ref _dropped, n);
        _metrics?.Dropped(n);
    }

    public void AddOnFailureDelivered(int n)
    {
        Interlocked.Add(ref _onFailureDelivered, n);
        _metrics?.OnFailureDelivered(n);
    }

    internal void AddBatch() => Interlocked.Increment(ref _batches);

    internal void AddFinishedBatch(bool full)
    {
        if (full)
        {
            Interlocked.Increment(ref _fullBatches);
        }
    }

    public void AddFilteredOut(int n)
    {
        Interlocked.Add(ref _filteredOut, n);
        _metrics?.FilteredOut(n);
    }

    internal void AddKeptHidden(int n) => Interlocked.Add(ref _keptHidden, n);

    public void AddDeleted(int n)
    {
        if (n > 0)
        {
            Interlocked.Add(ref _deleted, n);
            _metrics?.Deleted(n);
        }
    }

    internal void Add(ItemOutcome outcome)
    {
        switch (outcome)
        {
            case ItemOutcome.Succeeded: Interlocked.Increment(ref _succeeded); break;
            case ItemOutcome.Skipped: Interlocked.Increment(ref _skipped); break;
            case ItemOutcome.Retry:
                Interlocked.Increment(ref _retried);
                _metrics?.FailedInvoke();
                break;
            case ItemOutcome.PermanentFailure:
                Interlocked.Increment(ref _failedPermanently);
                _metrics?.FailedInvoke();
                break;
            case ItemOutcome.Deferred: Interlocked.Increment(ref _deferred); break;
            case ItemOutcome.Released: Interlocked.Increment(ref _released); break;
            // Filtered records never reach the invoker: the poller counts them with AddFilteredOut.
        }
    }
}
