namespace Pipeline.Core.Sources.Embedded;

/// <summary>A body larger than the queue's MaximumMessageSize; SQS refuses such a send the same way.</summary>
public sealed class MessageTooLargeException : Exception
{
    public MessageTooLargeException(int size, int limit)
        : base($"message body is {size:N0} bytes, over the queue's MaximumMessageSize of {limit:N0} bytes")
    {
        Size = size;
        Limit = limit;
    }

    public MessageTooLargeException(string message) : base(message) { }

    public MessageTooLargeException(string message, Exception inner) : base(message, inner) { }

    public MessageTooLargeException() { }

    /// <summary>Size of the refused body in bytes.</summary>
    public int Size { get; }

    /// <summary>The queue's MaximumMessageSize in bytes.</summary>
    public int Limit { get; }
}
