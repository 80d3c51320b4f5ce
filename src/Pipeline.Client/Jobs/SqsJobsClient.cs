using Amazon.SQS;
using Pipeline.Aws.Sqs;

namespace Pipeline.Client.Jobs;

/// <summary>
/// Enqueues jobs on the jobs queue: every job is validated first (a bad one fails the call before anything is sent),
/// then sent with <see cref="SqsJobSender"/> (SendMessageBatch in tens, sized against the queue's MaximumMessageSize,
/// failed entries retried with backoff). Returns the job ids, in the order given.
/// </summary>
public sealed class SqsJobsClient
{
    private readonly SqsJobSender _sender;

    public SqsJobsClient(SqsJobSender sender)
    {
        ArgumentNullException.ThrowIfNull(sender);
        _sender = sender;
    }

    /// <summary>The queue's URL and attributes as read when the client was made.</summary>
    public SqsQueueInfo Queue => _sender.Queue;

    /// <summary>A client for <paramref name="queue"/> (a name, URL or ARN); reads its attributes once.</summary>
    public static async Task<SqsJobsClient> CreateAsync(IAmazonSQS sqs, string queue, SqsSenderOptions? options = null, CancellationToken cancellationToken = default) =>
        new(await SqsJobSender.CreateAsync(sqs, queue, options, cancellationToken: cancellationToken).ConfigureAwait(false));

    public async Task<string> EnqueueAsync(JobRequest job, CancellationToken cancellationToken = default) =>
        (await EnqueueManyAsync([job], cancellationToken).ConfigureAwait(false))[0];

    /// <exception cref="JobValidationException">A job would be refused by the pipeline; none was sent.</exception>
    public async Task<IReadOnlyList<string>> EnqueueManyAsync(IReadOnlyList<JobRequest> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var ids = new string[jobs.Count];
        var messages = new SqsOutgoingMessage[jobs.Count];
        for (int i = 0; i < jobs.Count; i++)
        {
            JobRequest job = jobs[i] ?? throw new JobValidationException($"job {i} is null");
            ids[i] = job.JobId ?? Guid.NewGuid().ToString("N");
            // A FIFO queue keeps order per message group: the partition key (default the job id) plays that part.
            string? group = _sender.Queue.IsFifo ? job.PartitionKeyFor(ids[i]) : null;
            messages[i] = new SqsOutgoingMessage(job.ToBody(ids[i])) { JobId = ids[i], MessageGroupId = group };
        }

        if (messages.Length > 0)
        {
            await _sender.SendAsync(messages, cancellationToken).ConfigureAwait(false);
        }

        return ids;
    }
}
