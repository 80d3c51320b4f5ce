using Pipeline.Core.Records;

namespace Pipeline.Core.Invocation;

/// <summary>
/// The function the invoker calls once per record, inside the idempotency guard. It signals failure kinds with
/// <see cref="PermanentJobException"/> (never retried) and <see cref="TransientJobException"/> (retried in process,
/// then by the source). Any other exception is treated as retriable by the source but not retried in process.
/// </summary>
public interface IJobFunction
{
    /// <summary>
    /// The identity of the job's source as it is now (S3 ETag, or file length + mtime), folded into the idempotency
    /// key so a changed source starts fresh. Null when the source has no such identity.
    /// </summary>
    ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);

    /// <summary>Runs the job; returns where the result was written.</summary>
    ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken);
}

/// <summary>Where a job's result lives (a file path or s3:// URI).</summary>
public readonly record struct JobOutput(string? Location);

/// <summary>Per-invocation facts the function may want (for logs and metrics).</summary>
public readonly record struct InvocationContext(string MessageId, int ReceiveCount, int Attempt, string IdempotencyKey);

/// <summary>A failure that no retry can fix: a bad image, a path that escapes its root, a bucket not allowed.</summary>
public class PermanentJobException : Exception
{
    public PermanentJobException(string reason) : base(reason) { }

    public PermanentJobException(string reason, Exception inner) : base(reason, inner) { }

    public PermanentJobException() { }
}

/// <summary>A failure worth retrying in process (S3 throttling, a network blip).</summary>
public class TransientJobException : Exception
{
    public TransientJobException(string reason) : base(reason) { }

    public TransientJobException(string reason, Exception inner) : base(reason, inner) { }

    public TransientJobException() { }
}
