namespace Pipeline.Aws.Sqs;

/// <summary>
/// How an <see cref="SqsRecordSource"/> polls one queue. Immutable; <see cref="Validate"/> names the property that is
/// wrong. Periods are configurable so tests can use visibility timeouts of a second or two.
/// </summary>
public sealed record SqsSourceOptions
{
    /// <summary>The queue: a URL, a name, or an ARN (resolved with GetQueueUrl). Required.</summary>
    public required string Queue { get; init; }

    /// <summary>Long-poll wait of each ReceiveMessage call, 0–20 s (default 20, the SQS maximum).</summary>
    public int WaitTimeSeconds { get; init; } = 20;

    /// <summary>
    /// Visibility timeout for received messages, 0 s–12 h. Null (the default) uses the queue's VisibilityTimeout
    /// attribute, which is what Lambda's event source mapping does.
    /// </summary>
    public TimeSpan? VisibilityTimeout { get; init; }

    /// <summary>Messages asked for per ReceiveMessage call, 1–10 (default 10, the SQS maximum).</summary>
    public int MaxMessagesPerReceive { get; init; } = SqsLimits.MaxBatchEntries;

    /// <summary>
    /// Most ReceiveMessage calls kept outstanding at once, 1–100 (default 10). A receive for more than
    /// <see cref="MaxMessagesPerReceive"/> records issues several calls side by side, up to this many.
    /// </summary>
    public int MaxConcurrentReceives { get; init; } = 10;

    /// <summary>Attempts for a batch entry that SQS reports as failed but retriable, 1–10 (default 3).</summary>
    public int EntryRetryAttempts { get; init; } = 3;

    /// <summary>First delay before retrying failed batch entries; doubles each attempt (default 100 ms).</summary>
    public TimeSpan EntryRetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public SqsSourceOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(Queue))
        {
            throw new ArgumentException("Queue must be a queue URL, name or ARN (got an empty value).", nameof(Queue));
        }

        if (WaitTimeSeconds is < 0 or > SqsLimits.MaxWaitTimeSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(WaitTimeSeconds), WaitTimeSeconds, $"WaitTimeSeconds must be between 0 and 20 (got {WaitTimeSeconds}).");
        }

        if (VisibilityTimeout is { } v && (v < TimeSpan.Zero || v > SqsLimits.MaxVisibilityTimeout || v.Ticks % TimeSpan.TicksPerSecond != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(VisibilityTimeout), v, $"VisibilityTimeout must be whole seconds between 0 and 43,200 (12 h) (got {v}).");
        }

        if (MaxMessagesPerReceive is < 1 or > SqsLimits.MaxBatchEntries)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMessagesPerReceive), MaxMessagesPerReceive, $"MaxMessagesPerReceive must be between 1 and 10 (got {MaxMessagesPerReceive}).");
        }

        if (MaxConcurrentReceives is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentReceives), MaxConcurrentReceives, $"MaxConcurrentReceives must be between 1 and 100 (got {MaxConcurrentReceives}).");
        }

        if (EntryRetryAttempts is < 1 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(EntryRetryAttempts), EntryRetryAttempts, $"EntryRetryAttempts must be between 1 and 10 (got {EntryRetryAttempts}).");
        }

        if (EntryRetryBaseDelay < TimeSpan.Zero || EntryRetryBaseDelay > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(EntryRetryBaseDelay), EntryRetryBaseDelay, $"EntryRetryBaseDelay must be between 0 and 10 s (got {EntryRetryBaseDelay}).");
        }

        return this;
    }
}
