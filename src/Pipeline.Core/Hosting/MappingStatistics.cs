namespace Pipeline.Core.Hosting;

/// <summary>
/// Counters of one mapping, named after the ESM's CloudWatch metrics where one exists. Cheap enough for the hot
/// path (one interlocked add per event), and readable at any time for progress and summaries.
/// </summary>
public sealed class MappingStatistics
{
    private long _polled;
    private long _invoked;
    private long _succeeded;
    private long _skipped;
    private long _retried;
    private long _failedPermanently;
    private long _deferred;
    private long _released;
    private long _batches;

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

    public long BatchCount => Interlocked.Read(ref _batches);

    internal void AddPolled(int n) => Interlocked.Add(ref _polled, n);

    internal void AddInvoked() => Interlocked.Increment(ref _invoked);

    internal void AddReleased(int n) => Interlocked.Add(ref _released, n);

    internal void AddBatch() => Interlocked.Increment(ref _batches);

    internal void Add(Invocation.ItemOutcome outcome)
    {
        switch (outcome)
        {
            case Invocation.ItemOutcome.Succeeded: Interlocked.Increment(ref _succeeded); break;
            case Invocation.ItemOutcome.Skipped: Interlocked.Increment(ref _skipped); break;
            case Invocation.ItemOutcome.Retry: Interlocked.Increment(ref _retried); break;
            case Invocation.ItemOutcome.PermanentFailure: Interlocked.Increment(ref _failedPermanently); break;
            case Invocation.ItemOutcome.Deferred: Interlocked.Increment(ref _deferred); break;
            case Invocation.ItemOutcome.Released: Interlocked.Increment(ref _released); break;
        }
    }
}
