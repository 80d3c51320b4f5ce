namespace Pipeline.Aws.Kinesis.OnFailure;

/// <summary>
/// The on-failure record of a discarded batch could not be delivered (the queue does not exist, access is refused,
/// or transient errors outlasted the bounded retries). The checkpoint must stay where it is.
/// </summary>
public sealed class OnFailureDeliveryException : Exception
{
    public OnFailureDeliveryException(string destination, KinesisBatchInfo batch, int attempts, string reason, Exception? inner)
        : base($"The on-failure record of {batch?.ShardId} [{batch?.StartSequenceNumber}..{batch?.EndSequenceNumber}] could not be delivered to {destination} after {attempts} attempt(s): {reason}", inner)
    {
        Destination = destination;
        Batch = batch;
        Attempts = attempts;
    }

    public OnFailureDeliveryException(string message) : base(message) => Destination = string.Empty;

    public OnFailureDeliveryException(string message, Exception inner) : base(message, inner) => Destination = string.Empty;

    public OnFailureDeliveryException() => Destination = string.Empty;

    /// <summary>The destination as configured (queue name, URL or ARN).</summary>
    public string Destination { get; }

    /// <summary>The batch whose record was not delivered.</summary>
    public KinesisBatchInfo? Batch { get; }

    /// <summary>SendMessage attempts made (0 when the queue could not be resolved).</summary>
    public int Attempts { get; }
}
