namespace Pipeline.MassTransit;

/// <summary>
/// A <c>RemoveBackground</c> job that no retry can fix: the message is not a valid job, the source is not an image, a
/// path leaves its folder. The idempotency guard has recorded the failure, so a redelivery fails fast with the same
/// reason. Keep MassTransit from retrying it: <c>UseMessageRetry(r =&gt; r.Ignore&lt;BackgroundRemovalFailedException&gt;())</c>
/// (<see cref="RemoveBackgroundConsumerDefinition"/> does so).
/// </summary>
public sealed class BackgroundRemovalFailedException : Exception
{
    public BackgroundRemovalFailedException(string jobKey, string reason)
        : base($"background removal of job '{jobKey}' failed permanently: {reason}")
    {
        JobKey = jobKey;
        Reason = reason;
    }

    public BackgroundRemovalFailedException() : this("(unknown)", "failed permanently") { }

    public BackgroundRemovalFailedException(string message) : this("(unknown)", message) { }

    public BackgroundRemovalFailedException(string message, Exception inner) : base(message, inner)
    {
        JobKey = "(unknown)";
        Reason = message;
    }

    /// <summary>The job's key: its jobId, or the hash of what it asks for.</summary>
    public string JobKey { get; }

    /// <summary>Why it failed, as the function or the decoder said.</summary>
    public string Reason { get; }
}

/// <summary>
/// A <c>RemoveBackground</c> job that may succeed later: a transient failure outlived the in-process retries, the
/// idempotency store was unavailable, or another consumer holds the job's claim. Thrown so MassTransit's retry
/// (and redelivery) applies; the guard released the claim, so the retry starts clean.
/// </summary>
public sealed class BackgroundRemovalRetryException : Exception
{
    public BackgroundRemovalRetryException(string jobKey, string reason, TimeSpan suggestedDelay)
        : base($"background removal of job '{jobKey}' should be retried: {reason}")
    {
        JobKey = jobKey;
        Reason = reason;
        SuggestedDelay = suggestedDelay;
    }

    public BackgroundRemovalRetryException() : this("(unknown)", "retry", TimeSpan.Zero) { }

    public BackgroundRemovalRetryException(string message) : this("(unknown)", message, TimeSpan.Zero) { }

    public BackgroundRemovalRetryException(string message, Exception inner) : base(message, inner)
    {
        JobKey = "(unknown)";
        Reason = message;
    }

    public string JobKey { get; }

    public string Reason { get; }

    /// <summary>The pipeline's own backoff for this failure (receive-count based), or the time left on another owner's claim.</summary>
    public TimeSpan SuggestedDelay { get; }
}
