using Amazon.DynamoDBv2;
using Amazon.SQS;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Aws;
using Pipeline.Aws.DynamoDb;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Client.Jobs;
using Pipeline.Client.Status;
using Pipeline.Core.Idempotency;

namespace Pipeline.Client.Hosting;

/// <summary>
/// <see cref="IBackgroundRemovalJobs"/> over the configured transport. The AWS clients are made on first use (and
/// disposed with the container); an SQS client reads the queue's attributes once, retried on the next call if that fails.
/// </summary>
internal sealed class BackgroundRemovalJobs : IBackgroundRemovalJobs, IDisposable
{
    private readonly BackgroundRemovalJobsOptions _options;
    private readonly AwsEndpoint _endpoint;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory? _loggers;
    private readonly IJobRecordLookup? _registeredLookup;
    private readonly List<IDisposable> _owned = [];
    private readonly Once<SqsJobsClient> _sqs;
    private readonly Once<KinesisJobsClient> _kinesis;
    private readonly Once<JobStatusClient> _status;

    public BackgroundRemovalJobs(IOptions<BackgroundRemovalJobsOptions> options, TimeProvider time, ILoggerFactory? loggers = null, IJobRecordLookup? lookup = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _loggers = loggers;
        _registeredLookup = lookup;
        _endpoint = _options.ServiceUrl is { } url
            ? AwsEndpoint.At(new Uri(url), _options.Region)
            : _options.Region is { } region ? AwsEndpoint.InRegion(region) : AwsEndpoint.Aws;
        _sqs = new(async cancellationToken => await SqsJobsClient.CreateAsync(Own(_endpoint.CreateSqs()), _options.Queue!, cancellationToken: cancellationToken).ConfigureAwait(false));
        _kinesis = new(_ => Task.FromResult(new KinesisJobsClient(Own(_endpoint.CreateKinesis(timeProvider: _time)), _options.Stream!, timeProvider: _time, logger: _loggers?.CreateLogger<KinesisJobsClient>())));
        _status = new(_ => Task.FromResult(new JobStatusClient(Lookup(), _time)));
    }

    public async Task<string> EnqueueAsync(JobRequest job, CancellationToken cancellationToken = default) =>
        (await EnqueueManyAsync([job], cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<string>> EnqueueManyAsync(IReadOnlyList<JobRequest> jobs, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrWhiteSpace(_options.Stream))
        {
            KinesisJobsClient kinesis = await _kinesis.GetAsync(cancellationToken).ConfigureAwait(false);
            return await kinesis.EnqueueManyAsync(jobs, cancellationToken).ConfigureAwait(false);
        }

        SqsJobsClient sqs = await _sqs.GetAsync(cancellationToken).ConfigureAwait(false);
        return await sqs.EnqueueManyAsync(jobs, cancellationToken).ConfigureAwait(false);
    }

    public async Task<JobStatus> GetStatusAsync(string jobId, CancellationToken cancellationToken = default)
    {
        JobStatusClient status = await _status.GetAsync(cancellationToken).ConfigureAwait(false);
        return await status.GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false);
    }

    private IJobRecordLookup Lookup()
    {
        if (_registeredLookup is not null)
        {
            return _registeredLookup;
        }

        if (_options.IdempotencyTable is not { Length: > 0 } table)
        {
            throw new InvalidOperationException("Job status needs the pipeline's idempotency table: set BackgroundRemovalJobs:IdempotencyTable (or register an IJobRecordLookup).");
        }

        IAmazonDynamoDB dynamo = Own(_endpoint.CreateDynamoDb());
        return new DynamoDbIdempotencyStore(dynamo, new DynamoDbIdempotencyStoreOptions { TableName = table }, _loggers?.CreateLogger<DynamoDbIdempotencyStore>());
    }

    private T Own<T>(T client) where T : IDisposable
    {
        lock (_owned)
        {
            _owned.Add(client);
        }

        return client;
    }

    public void Dispose()
    {
        foreach (IDisposable client in _owned)
        {
            client.Dispose();
        }

        _sqs.Dispose();
        _kinesis.Dispose();
        _status.Dispose();
    }

    /// <summary>Made once, on first use; a failed attempt (the queue not there yet) is not kept, so the next call tries again.</summary>
    private sealed class Once<T>(Func<CancellationToken, Task<T>> create) : IDisposable where T : class
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private T? _value;

        public async ValueTask<T> GetAsync(CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _value) is { } value)
            {
                return value;
            }

            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return _value ??= await create(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _lock.Release();
            }
        }

        public void Dispose() => _lock.Dispose();
    }
}
