using Pipeline.Core.Idempotency;

namespace Pipeline.Client.Status;

/// <summary>
/// Reads a job's status from the pipeline's idempotency store (the table the workers claim jobs in). A job has one
/// record per source identity it ran against; the newest change decides:
/// no record = <see cref="JobState.Pending"/>; IN_PROGRESS = <see cref="JobState.InProgress"/>, or
/// <see cref="JobState.Pending"/> once its claim has expired (the worker is gone and the job will be retried);
/// COMPLETED = <see cref="JobState.Done"/>; FAILED_PERMANENT = <see cref="JobState.Failed"/>.
/// </summary>
public sealed class JobStatusClient
{
    private readonly IJobRecordLookup _records;
    private readonly TimeProvider _time;

    public JobStatusClient(IJobRecordLookup records, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        _records = records;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <exception cref="ArgumentException">The job id is empty.</exception>
    /// <exception cref="JobStatusUnavailableException">The store could not be read.</exception>
    public async Task<JobStatus> GetStatusAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        IReadOnlyList<IdempotencyRecord> records;
        try
        {
            // The job id is the job's key: the pipeline keys a job by its jobId, and this SDK always sends one.
            records = await _records.FindByJobKeyAsync(jobId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new JobStatusUnavailableException($"The status of job '{jobId}' could not be read from the idempotency store: {ex.Message}", ex);
        }

        if (records.Count == 0)
        {
            return new JobStatus(jobId, JobState.Pending, null, null, null);
        }

        IdempotencyRecord newest = records[0];
        return newest.Status switch
        {
            IdempotencyStatus.Completed => new JobStatus(jobId, JobState.Done, newest.ResultLocation, null, newest.UpdatedAt),
            IdempotencyStatus.FailedPermanent => new JobStatus(jobId, JobState.Failed, null, newest.FailureReason, newest.UpdatedAt),
            // Same rule as the store's claim: an expiry equal to now is still live.
            IdempotencyStatus.InProgress when newest.Expiry is { } expiry && expiry < _time.GetUtcNow() =>
                new JobStatus(jobId, JobState.Pending, null, null, newest.UpdatedAt),
            IdempotencyStatus.InProgress => new JobStatus(jobId, JobState.InProgress, null, null, newest.UpdatedAt),
            _ => throw new JobStatusUnavailableException($"Job '{jobId}' has a record in a state this client does not know: {newest.Status}."),
        };
    }
}
