namespace Pipeline.Core.Invocation;

/// <summary>
/// How the invoker runs records: in-process retries (Polly), the source backoff for what outlives them, and the
/// idempotency claim lease with its heartbeat. Immutable; <see cref="Validate"/> checks ranges and that in-process
/// retries fit inside the source's visibility timeout, so they never multiply with redeliveries.
/// </summary>
public sealed record InvokerOptions
{
    /// <summary>In-process retries of a transient failure, per record (default 3; 0–10).</summary>
    public int RetryAttempts { get; init; } = 3;

    /// <summary>First in-process retry delay; doubles each attempt with jitter (default 200 ms).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Randomise in-process retry delays (Polly's decorrelated jitter) so many failing records spread out (default true).</summary>
    public bool RetryJitter { get; init; } = true;

    /// <summary>Cap on one in-process retry delay (default 5 s).</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Visibility backoff for a retriable failure on its first receive; doubles per receive (default 2 s).</summary>
    public TimeSpan SourceBackoffBase { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap on the visibility backoff (default 5 min).</summary>
    public TimeSpan SourceBackoffMax { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a claim lives without renewal: a dead owner's claim lapses after this (default 15 s).</summary>
    public TimeSpan ClaimLease { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a running batch renews its claims and the visibility of its records (default 5 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Finished claims are written together; a pending write older than this is flushed before the next record
    /// starts, so a crash repeats at most the record in flight (default 100 ms).
    /// </summary>
    public TimeSpan FinishFlushInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Stop at the first failure and return the rest unstarted (SQS FIFO; Kinesis keeps order this way).</summary>
    public bool StopOnFirstFailure { get; init; }

    public static InvokerOptions Default { get; } = new();

    /// <summary>Checks ranges, and that the worst case of in-process retries stays below <paramref name="visibilityTimeout"/>.</summary>
    public InvokerOptions Validate(TimeSpan visibilityTimeout)
    {
        Range(nameof(RetryAttempts), RetryAttempts, 0, 10);
        Positive(nameof(RetryBaseDelay), RetryBaseDelay);
        Positive(nameof(RetryMaxDelay), RetryMaxDelay);
        if (RetryMaxDelay < RetryBaseDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryMaxDelay), RetryMaxDelay, $"RetryMaxDelay ({RetryMaxDelay}) must not be below RetryBaseDelay ({RetryBaseDelay}).");
        }

        Positive(nameof(SourceBackoffBase), SourceBackoffBase);
        if (SourceBackoffMax < SourceBackoffBase || SourceBackoffMax > TimeSpan.FromHours(12))
        {
            throw new ArgumentOutOfRangeException(nameof(SourceBackoffMax), SourceBackoffMax, "SourceBackoffMax must be between SourceBackoffBase and 12 hours (the SQS visibility limit).");
        }

        Positive(nameof(ClaimLease), ClaimLease);
        Positive(nameof(HeartbeatInterval), HeartbeatInterval);
        if (HeartbeatInterval >= ClaimLease)
        {
            throw new ArgumentOutOfRangeException(nameof(HeartbeatInterval), HeartbeatInterval, $"HeartbeatInterval ({HeartbeatInterval}) must be shorter than ClaimLease ({ClaimLease}) so claims are renewed before they lapse.");
        }

        if (FinishFlushInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(FinishFlushInterval), FinishFlushInterval, "FinishFlushInterval must not be negative.");
        }

        TimeSpan worstCase = WorstCaseRetryDelay;
        if (visibilityTimeout > TimeSpan.Zero && worstCase >= visibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryAttempts), RetryAttempts,
                $"In-process retries may wait up to {worstCase.TotalSeconds:0.###} s ({RetryAttempts} x RetryMaxDelay {RetryMaxDelay.TotalSeconds:0.###} s), " +
                $"which is not below the source's visibility timeout of {visibilityTimeout.TotalSeconds:0.###} s; lower RetryAttempts or RetryMaxDelay.");
        }

        return this;
    }

    /// <summary>Upper bound of the summed in-process retry delays (each delay is capped at <see cref="RetryMaxDelay"/>).</summary>
    public TimeSpan WorstCaseRetryDelay => RetryMaxDelay * RetryAttempts;

    private static void Range(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {min} and {max} (got {value}).");
        }
    }

    private static void Positive(string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (got {value}).");
        }
    }
}
