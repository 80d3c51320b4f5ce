using Pipeline.Client.Jobs;
using Pipeline.Client.Status;

namespace Pipeline.Client;

/// <summary>
/// Enqueue background-removal jobs and read their status; registered by
/// <c>services.AddBackgroundRemovalJobs(...)</c> over the configured SQS queue or Kinesis stream.
/// </summary>
public interface IBackgroundRemovalJobs
{
    /// <summary>Validates and enqueues one job; returns its job id.</summary>
    /// <exception cref="JobValidationException">The pipeline would refuse the job; nothing was sent.</exception>
    Task<string> EnqueueAsync(JobRequest job, CancellationToken cancellationToken = default);

    /// <summary>Validates every job, then enqueues them all; returns their job ids in the order given.</summary>
    /// <exception cref="JobValidationException">A job would be refused; none was sent.</exception>
    Task<IReadOnlyList<string>> EnqueueManyAsync(IReadOnlyList<JobRequest> jobs, CancellationToken cancellationToken = default);

    /// <summary>The job's status from the idempotency store (<see cref="JobStatusClient"/> has the rules).</summary>
    /// <exception cref="InvalidOperationException">No idempotency table is configured.</exception>
    /// <exception cref="JobStatusUnavailableException">The store could not be read.</exception>
    Task<JobStatus> GetStatusAsync(string jobId, CancellationToken cancellationToken = default);
}
