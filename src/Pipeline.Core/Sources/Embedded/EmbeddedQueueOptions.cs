namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// Settings of an <see cref="EmbeddedQueue"/>. The ranges are SQS's own, so a configuration that works locally is
/// one SQS would accept too.
/// </summary>
public sealed record EmbeddedQueueOptions
{
    /// <summary>Queue name; records carry <c>embedded://{Name}</c> as their source. Default <c>jobs</c>; must not be empty.</summary>
    public string Name { get; init; } = EmbeddedQueueConstants.DefaultName;

    /// <summary>How long a received message stays hidden. Default 30 s; 0 s to 12 h (SQS VisibilityTimeout).</summary>
    public TimeSpan VisibilityTimeout { get; init; } = EmbeddedQueueConstants.DefaultVisibilityTimeout;

    /// <summary>How long a receive waits for a message (long poll). Default 1 s; 0 to 20 s (SQS WaitTimeSeconds).</summary>
    public TimeSpan ReceiveWaitTime { get; init; } = EmbeddedQueueConstants.DefaultReceiveWaitTime;

    /// <summary>
    /// The redrive policy's maxReceiveCount: a message received this many times moves to the dead-letter queue on
    /// the next receive attempt. Only applies when a dead-letter queue is given. Default 5; 1 to 1,000.
    /// </summary>
    public int MaxReceiveCount { get; init; } = EmbeddedQueueConstants.DefaultMaxReceiveCount;

    /// <summary>Largest body accepted, in bytes. Default 262,144 (256 KiB); 1,024 to 1,048,576 (SQS MaximumMessageSize).</summary>
    public int MaximumMessageSize { get; init; } = EmbeddedQueueConstants.DefaultMaximumMessageSize;

    /// <summary>Throws when a setting is outside its range; the message names the setting and the range allowed.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException($"{nameof(Name)} must be a non-empty queue name (got '{Name}').", nameof(Name));
        }

        if (VisibilityTimeout < TimeSpan.Zero || VisibilityTimeout > EmbeddedQueueConstants.MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(
                nameof(VisibilityTimeout),
                VisibilityTimeout,
                $"{nameof(VisibilityTimeout)} must be between 0 s and 12 h (got {VisibilityTimeout}).");
        }

        if (ReceiveWaitTime < TimeSpan.Zero || ReceiveWaitTime > EmbeddedQueueConstants.MaxReceiveWaitTime)
        {
            throw new ArgumentOutOfRangeException(
                nameof(ReceiveWaitTime),
                ReceiveWaitTime,
                $"{nameof(ReceiveWaitTime)} must be between 0 s and 20 s (got {ReceiveWaitTime}).");
        }

        if (MaxReceiveCount < EmbeddedQueueConstants.MinMaxReceiveCount || MaxReceiveCount > EmbeddedQueueConstants.MaxMaxReceiveCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxReceiveCount),
                MaxReceiveCount,
                $"{nameof(MaxReceiveCount)} must be between {EmbeddedQueueConstants.MinMaxReceiveCount} and {EmbeddedQueueConstants.MaxMaxReceiveCount} (got {MaxReceiveCount}).");
        }

        if (MaximumMessageSize < EmbeddedQueueConstants.MinMaximumMessageSize || MaximumMessageSize > EmbeddedQueueConstants.MaxMaximumMessageSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaximumMessageSize),
                MaximumMessageSize,
                $"{nameof(MaximumMessageSize)} must be between {EmbeddedQueueConstants.MinMaximumMessageSize:N0} and {EmbeddedQueueConstants.MaxMaximumMessageSize:N0} bytes (got {MaximumMessageSize:N0}).");
        }
    }
}
