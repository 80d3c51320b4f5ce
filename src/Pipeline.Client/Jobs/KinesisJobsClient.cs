using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws;
using Pipeline.Aws.Kinesis.Client;

namespace Pipeline.Client.Jobs;

/// <summary>
/// Enqueues jobs on a Kinesis stream: every job is validated first (a bad one fails the call before anything is sent),
/// then written with PutRecords in requests of at most 500 records and 5 MiB, several requests side by side. The
/// partition key is the job's <see cref="JobRequest.PartitionKey"/>, else its job id. Records whose result carries an
/// ErrorCode, and requests throttled or failed on the service's side, are re-sent with exponential backoff and jitter
/// up to <see cref="KinesisJobsClientOptions.MaxAttempts"/>. Returns the job ids, in the order given.
/// </summary>
public sealed partial class KinesisJobsClient
{
    /// <summary>PutRecords takes at most 500 records per request.</summary>
    public const int MaxRecordsPerRequest = 500;

    /// <summary>PutRecords takes at most 5 MiB per request (data and partition keys together).</summary>
    public const int MaxRequestBytes = 5 * 1024 * 1024;

    /// <summary>One record's data and partition key together may be at most 1 MiB.</summary>
    public const int MaxRecordBytes = 1024 * 1024;

    private readonly IKinesisClient _kinesis;
    private readonly KinesisJobsClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public KinesisJobsClient(IKinesisClient kinesis, string streamName, KinesisJobsClientOptions? options = null, TimeProvider? timeProvider = null, ILogger<KinesisJobsClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(kinesis);
        ArgumentException.ThrowIfNullOrWhiteSpace(streamName);
        _kinesis = kinesis;
        StreamName = streamName;
        _options = (options ?? new KinesisJobsClientOptions()).Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public string StreamName { get; }

    /// <exception cref="JobValidationException">The job would be refused by the pipeline, or is too large for a record; nothing was sent.</exception>
    /// <exception cref="KinesisEnqueueFailedException">It could not be written.</exception>
    public async Task<string> EnqueueAsync(JobRequest job, CancellationToken cancellationToken = default) =>
        (await EnqueueManyAsync([job], cancellationToken).ConfigureAwait(false))[0];

    /// <exception cref="JobValidationException">A job would be refused by the pipeline, or is too large for a record; none was sent.</exception>
    /// <exception cref="KinesisEnqueueFailedException">Some jobs could not be written; it names them (the others were).</exception>
    public async Task<IReadOnlyList<string>> EnqueueManyAsync(IReadOnlyList<JobRequest> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var ids = new string[jobs.Count];
        var entries = new PutRecordsRequestEntry[jobs.Count];
        var sizes = new int[jobs.Count];
        for (int i = 0; i < jobs.Count; i++)
        {
            JobRequest job = jobs[i] ?? throw new JobValidationException($"job {i} is null");
            ids[i] = job.JobId ?? Guid.NewGuid().ToString("N");
            string key = job.PartitionKeyFor(ids[i]);
            byte[] data = Encoding.UTF8.GetBytes(job.ToBody(ids[i]));
            sizes[i] = data.Length + Encoding.UTF8.GetByteCount(key);
            if (sizes[i] > MaxRecordBytes)
            {
                throw new JobValidationException($"job '{ids[i]}' is {sizes[i]:N0} bytes with its partition key; a Kinesis record takes at most {MaxRecordBytes:N0}.");
            }

            entries[i] = new PutRecordsRequestEntry { Data = data, PartitionKey = key };
        }

        var unsent = new List<(int Index, string Error, Exception? Cause)>();
        using var gate = new SemaphoreSlim(_options.MaxConcurrentRequests);
        var sends = new List<Task>();
        foreach (int[] chunk in RequestChunks.Split(sizes, MaxRecordsPerRequest, MaxRequestBytes))
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            sends.Add(SendChunkAsync(entries, ids, chunk, unsent, gate, cancellationToken));
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        if (unsent.Count > 0)
        {
            unsent.Sort((a, b) => a.Index.CompareTo(b.Index));
            throw new KinesisEnqueueFailedException(StreamName, unsent.ConvertAll(u => ids[u.Index]), unsent[^1].Error, unsent.Find(u => u.Cause is not null).Cause);
        }

        return ids;
    }

    private async Task SendChunkAsync(PutRecordsRequestEntry[] entries, string[] ids, int[] chunk, List<(int, string, Exception?)> unsent, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<int> pending = chunk;
            for (int attempt = 1; ; attempt++)
            {
                var retry = new List<int>();
                string error = "";
                Exception? cause = null;
                try
                {
                    var request = new PutRecordsRequest { StreamName = StreamName, Records = [.. pending.Select(i => entries[i])] };
                    PutRecordsResponse response = await _kinesis.PutRecordsAsync(request, cancellationToken).ConfigureAwait(false);
                    if (response.Records.Count != pending.Count)
                    {
                        // Without one result per entry nothing says which records were written; treat it as a refusal.
                        Fail(unsent, pending, $"PutRecords answered {response.Records.Count} results for {pending.Count} records", null);
                        return;
                    }

                    for (int r = 0; r < pending.Count; r++)
                    {
                        if (response.Records[r].ErrorCode is { Length: > 0 } code)
                        {
                            retry.Add(pending[r]);
                            error = $"{code}: {response.Records[r].ErrorMessage}";
                        }
                    }
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsRetryable(ex))
                {
                    retry.AddRange(pending);
                    error = ex is KinesisServiceException kinesis && kinesis.ErrorType.Length > 0 ? $"{kinesis.ErrorType}: {ex.Message}" : $"{ex.GetType().Name}: {ex.Message}";
                    cause = ex;
                }
                catch (KinesisServiceException ex)
                {
                    Fail(unsent, pending, $"{ex.ErrorType}: {ex.Message}", ex);
                    return;
                }

                if (retry.Count == 0)
                {
                    return;
                }

                if (attempt >= _options.MaxAttempts)
                {
                    Fail(unsent, retry, $"{error} after {attempt} attempt(s)", cause);
                    return;
                }

                LogRetrying(_logger, retry.Count, StreamName, attempt, error, ids[retry[0]]);
                TimeSpan delay = Backoff(attempt);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }

                pending = retry;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    // Throttling and the service's own failures may pass; the request's own faults (bad stream, bad argument) do not.
    private static bool IsRetryable(Exception ex) =>
        ex is KinesisThroughputExceededException or KinesisTransientException or KinesisLimitExceededException or HttpRequestException or IOException or TimeoutException
        || (ex is TaskCanceledException && ex.InnerException is TimeoutException);

    /// <summary>Equal jitter: half the exponential delay, plus a random part of the other half, so senders spread out.</summary>
    private TimeSpan Backoff(int attempt)
    {
        double exponential = Math.Min(_options.RetryMaxDelay.TotalMilliseconds, _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
#pragma warning disable CA5394 // jitter, not security
        return TimeSpan.FromMilliseconds((exponential / 2) + (Random.Shared.NextDouble() * exponential / 2));
#pragma warning restore CA5394
    }

    private static void Fail(List<(int, string, Exception?)> unsent, IEnumerable<int> indexes, string error, Exception? cause)
    {
        lock (unsent)
        {
            foreach (int index in indexes)
            {
                unsent.Add((index, error, cause));
            }
        }
    }

    [LoggerMessage(EventId = 80, Level = LogLevel.Warning, Message = "{Count} record(s) to Kinesis stream {Stream} failed on attempt {Attempt} ({Error}; first job {JobId}); retrying")]
    private static partial void LogRetrying(ILogger logger, int count, string stream, int attempt, string error, string jobId);
}
