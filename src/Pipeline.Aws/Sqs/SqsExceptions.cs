namespace Pipeline.Aws.Sqs;

/// <summary>The queue named by URL, name or ARN does not exist at the endpoint.</summary>
public sealed class SqsQueueNotFoundException : Exception
{
    public SqsQueueNotFoundException(string message) : base(message) { }

    public SqsQueueNotFoundException(string message, Exception inner) : base(message, inner) { }

    public SqsQueueNotFoundException() { }

    /// <summary>The queue that could not be found, as the caller named it.</summary>
    public string Queue { get; private init; } = string.Empty;

    public static SqsQueueNotFoundException For(string queue, Exception inner) =>
        new($"SQS queue '{queue}' does not exist (or is not visible to these credentials).", inner) { Queue = queue };
}

/// <summary>
/// A job message larger than the queue's MaximumMessageSize: refused before sending, naming the job and both sizes.
/// </summary>
public sealed class SqsMessageTooLargeException : Exception
{
    public SqsMessageTooLargeException(string job, int size, int limit, string queue)
        : base($"Job {job} is {size:N0} bytes, over the MaximumMessageSize of {limit:N0} bytes of queue {queue}; it was not sent.")
    {
        Job = job;
        Size = size;
        Limit = limit;
    }

    public SqsMessageTooLargeException(string message) : base(message) => Job = string.Empty;

    public SqsMessageTooLargeException(string message, Exception inner) : base(message, inner) => Job = string.Empty;

    public SqsMessageTooLargeException() => Job = string.Empty;

    /// <summary>The job's id (or its position in the request when it has none).</summary>
    public string Job { get; }

    /// <summary>The message's size in bytes (body plus message attributes).</summary>
    public int Size { get; }

    /// <summary>The queue's MaximumMessageSize in bytes.</summary>
    public int Limit { get; }
}

/// <summary>Some messages of a send could not be delivered after the bounded retries; names each and why.</summary>
public sealed class SqsSendFailedException : Exception
{
    public SqsSendFailedException(IReadOnlyList<SqsSendFailure> failures, string queue)
        : base($"{failures.Count} message(s) could not be sent to {queue}: " + string.Join("; ", failures.Take(10).Select(f => $"{f.Job}: {f.Code} {f.Reason}")))
        => Failures = failures;

    public SqsSendFailedException(string message) : base(message) => Failures = [];

    public SqsSendFailedException(string message, Exception inner) : base(message, inner) => Failures = [];

    public SqsSendFailedException() => Failures = [];

    public IReadOnlyList<SqsSendFailure> Failures { get; }
}

/// <summary>One message that a send could not deliver.</summary>
public sealed record SqsSendFailure(int Index, string Job, string Code, string Reason);
