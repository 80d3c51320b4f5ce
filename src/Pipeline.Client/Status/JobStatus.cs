namespace Pipeline.Client.Status;

/// <summary>Where a job stands, as the idempotency store tells it.</summary>
public enum JobState
{
    /// <summary>
    /// Not picked up yet: no worker has claimed it (it may still be on the queue or stream, or was never enqueued: the
    /// store cannot tell these apart), or a worker's claim lapsed without finishing and the job will be retried.
    /// </summary>
    Pending,

    /// <summary>A worker holds a live claim on it.</summary>
    InProgress,

    /// <summary>Done; <see cref="JobStatus.ResultLocation"/> says where the result is.</summary>
    Done,

    /// <summary>Failed for good; <see cref="JobStatus.FailureReason"/> says why. It stays so until a redrive or a changed source.</summary>
    Failed,
}

/// <summary>One job's status.</summary>
/// <param name="JobId">The job id asked about.</param>
/// <param name="State">Where it stands.</param>
/// <param name="ResultLocation">Where the result was written (<see cref="JobState.Done"/> only).</param>
/// <param name="FailureReason">Why it failed (<see cref="JobState.Failed"/> only).</param>
/// <param name="UpdatedAt">When the record that decided the state last changed; null when there is none (or the store did not keep it).</param>
public sealed record JobStatus(string JobId, JobState State, string? ResultLocation, string? FailureReason, DateTimeOffset? UpdatedAt);

/// <summary>The idempotency store could not be read; the message names the job, the inner exception says why.</summary>
public sealed class JobStatusUnavailableException : Exception
{
    public JobStatusUnavailableException(string message, Exception inner) : base(message, inner) { }

    public JobStatusUnavailableException(string message) : base(message) { }

    public JobStatusUnavailableException() { }
}
