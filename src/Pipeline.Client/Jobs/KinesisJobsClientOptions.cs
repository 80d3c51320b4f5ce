namespace Pipeline.Client.Jobs;

/// <summary>How <see cref="KinesisJobsClient"/> sends and retries. Immutable; <see cref="Validate"/> names the property that is wrong.</summary>
public sealed record KinesisJobsClientOptions
{
    /// <summary>PutRecords requests in flight at once, 1–64 (default 4).</summary>
    public int MaxConcurrentRequests { get; init; } = 4;

    /// <summary>
    /// Attempts per record, counting the first, 1–20 (default 6): a record whose result carries an ErrorCode
    /// (ProvisionedThroughputExceededException, InternalFailure), or whose whole request was throttled or failed on
    /// the service's side, is sent again until it has had this many.
    /// </summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>Delay before the first re-send; doubles each attempt, with jitter (default 100 ms, 0–10 s).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest delay between attempts (default 5 s, at least <see cref="RetryBaseDelay"/>, at most 60 s).</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    public KinesisJobsClientOptions Validate()
    {
        if (MaxConcurrentRequests is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, $"MaxConcurrentRequests must be between 1 and 64 (got {MaxConcurrentRequests}).");
        }

        if (MaxAttempts is < 1 or > 20)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, $"MaxAttempts must be between 1 and 20 (got {MaxAttempts}).");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(RetryBaseDelay), RetryBaseDelay, $"RetryBaseDelay must be between 0 and 10 s (got {RetryBaseDelay}).");
        }

        if (RetryMaxDelay < RetryBaseDelay || RetryMaxDelay > TimeSpan.FromSeconds(60))
        {
            throw new ArgumentOutOfRangeException(nameof(RetryMaxDelay), RetryMaxDelay, $"RetryMaxDelay must be between RetryBaseDelay ({RetryBaseDelay}) and 60 s (got {RetryMaxDelay}).");
        }

        return this;
    }
}
