using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Aws.Kinesis.OnFailure;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Kinesis.Mapping;

/// <summary>
/// A stream on one emulator, a lease table (and an on-failure queue) on another (or the same), and mappings over them
/// with a <see cref="RecordingFunction"/>. Job bodies carry their partition key and their index within that key, so
/// order per key can be checked from what the function saw.
/// </summary>
internal sealed class KinesisMappingKit : IAsyncDisposable
{
    private readonly EmulatorFixture _kinesisEmulator;
    private readonly EmulatorFixture _awsEmulator;
    private readonly List<IDisposable> _disposables = [];

    private KinesisMappingKit(EmulatorFixture kinesisEmulator, EmulatorFixture awsEmulator, string stream)
    {
        _kinesisEmulator = kinesisEmulator;
        _awsEmulator = awsEmulator;
        Stream = stream;
        LeaseTable = $"leases-{Guid.NewGuid():N}";
        Kinesis = kinesisEmulator.Endpoint.CreateKinesis();
        DynamoDb = awsEmulator.Endpoint.CreateDynamoDb();
        Sqs = awsEmulator.Endpoint.CreateSqs();
    }

    public string Stream { get; }

    public string LeaseTable { get; }

    public KinesisClient Kinesis { get; }

    public IAmazonDynamoDB DynamoDb { get; }

    public IAmazonSQS Sqs { get; }

    public static async Task<KinesisMappingKit> CreateAsync(EmulatorFixture kinesisEmulator, EmulatorFixture awsEmulator, int shards)
    {
        var kit = new KinesisMappingKit(kinesisEmulator, awsEmulator, $"esm-{Guid.NewGuid():N}");
        await kit.Kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = kit.Stream, ShardCount = shards });
        await kit.WaitActiveAsync();
        Assert.True(await LeaseTableSchema.EnsureTableAsync(kit.DynamoDb, kit.LeaseTable, TimeProvider.System, CancellationToken.None));
        return kit;
    }

    public Task WaitActiveAsync() => Wait.UntilAsync(
        async () => (await Kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = Stream })).StreamDescriptionSummary.StreamStatus == StreamStatus.Active,
        $"stream {Stream} ACTIVE",
        TimeSpan.FromSeconds(30));

    public static string Body(string key, int index, string? extra = null) =>
        $"{{\"jobId\":\"{key}/{index.ToString(CultureInfo.InvariantCulture)}\",\"source\":\"s3://in/{key}/{index.ToString(CultureInfo.InvariantCulture)}{extra}.jpg\"}}";

    /// <summary>Puts records in order, 500 per PutRecords call; returns the sequence number of each.</summary>
    public async Task<IReadOnlyList<PutRecordsResultEntry>> PutAsync(IEnumerable<(string Key, string Body)> records)
    {
        var results = new List<PutRecordsResultEntry>();
        foreach (var chunk in records.Chunk(500))
        {
            var put = await Kinesis.PutRecordsAsync(new PutRecordsRequest
            {
                StreamName = Stream,
                Records = chunk.Select(r => new PutRecordsRequestEntry { PartitionKey = r.Key, Data = Encoding.UTF8.GetBytes(r.Body) }).ToList(),
            });
            Assert.Equal(0, put.FailedRecordCount ?? 0);
            results.AddRange(put.Records);
        }

        return results;
    }

    /// <summary>Puts <paramref name="perKey"/> records for each of <paramref name="keys"/> keys, interleaved (key-major order within each round).</summary>
    public Task<IReadOnlyList<PutRecordsResultEntry>> PutInterleavedAsync(int keys, int perKey) =>
        PutAsync(Enumerable.Range(0, perKey).SelectMany(i => Enumerable.Range(0, keys).Select(k => ($"key-{k}", Body($"key-{k}", i)))));

    public async Task<string> CreateQueueAsync(string name)
    {
        var created = await Sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = name });
        return created.QueueUrl;
    }

    public KinesisEventSourceMapping Mapping(
        string worker,
        IJobFunction function,
        Func<KinesisMappingOptions, KinesisMappingOptions>? configure = null,
        LeaseCoordinatorOptions? leases = null,
        string? onFailureQueue = null,
        IdempotencyGuard? guard = null,
        ILoggerFactory? loggers = null,
        IKinesisClient? kinesis = null)
    {
        var options = new KinesisMappingOptions
        {
            StreamName = Stream,
            PollInterval = TimeSpan.FromMilliseconds(200),
            ShardSyncInterval = TimeSpan.FromMilliseconds(500),
            CheckpointInterval = TimeSpan.FromMilliseconds(200),
            Invoker = InvokerOptions.Default with { RetryAttempts = 0 },
        };
        options = configure?.Invoke(options) ?? options;
        var leaseOptions = leases ?? LeaseOptions(worker);
        IOnFailureDestination? destination = onFailureQueue is null ? null : new SqsOnFailureDestination(Sqs, onFailureQueue);
        guard ??= new IdempotencyGuard(new InMemoryIdempotencyStore(), worker, new LocalProcessLiveness(), TimeProvider.System, TimeSpan.FromSeconds(15));
        return new KinesisEventSourceMapping(options, kinesis ?? Kinesis, new DynamoDbLeaseStore(DynamoDb, LeaseTable), leaseOptions, function, guard, destination, loggerFactory: loggers);
    }

    /// <summary>Short lease periods so hand-offs take seconds: lease 2 s, cycle 300 ms unless given.</summary>
    public static LeaseCoordinatorOptions LeaseOptions(string worker, TimeSpan? duration = null, TimeSpan? cycle = null, bool releaseOnShutdown = true) => new()
    {
        WorkerId = worker,
        LeaseDuration = duration ?? TimeSpan.FromSeconds(2),
        CyclePeriod = cycle ?? TimeSpan.FromMilliseconds(300),
        ReleaseOnShutdown = releaseOnShutdown,
    };

    /// <summary>A guard of <paramref name="worker"/> over <paramref name="store"/>: hosts given one store share their idempotency records.</summary>
    public static IdempotencyGuard Guard(IIdempotencyStore store, string worker) =>
        new(store, worker, new LocalProcessLiveness(), TimeProvider.System, TimeSpan.FromSeconds(5));

    /// <summary>Another client of the stream's emulator whose requests pass through <paramref name="handler"/> (fault injection).</summary>
    public KinesisClient CreateKinesis(HttpMessageHandler handler) => _kinesisEmulator.Endpoint.CreateKinesis(handler);

    public Task<IReadOnlyList<Shard>> ShardsAsync() => Kinesis.ListAllShardsAsync(Stream);

    /// <summary>Splits <paramref name="shardId"/> at the middle of its hash range and waits until the stream is ACTIVE again.</summary>
    public async Task SplitInHalfAsync(string shardId)
    {
        Shard parent = (await ShardsAsync()).Single(s => s.ShardId == shardId);
        var start = BigInteger.Parse(parent.HashKeyRange.StartingHashKey, CultureInfo.InvariantCulture);
        var end = BigInteger.Parse(parent.HashKeyRange.EndingHashKey, CultureInfo.InvariantCulture);
        await Kinesis.SplitShardAsync(new SplitShardRequest
        {
            StreamName = Stream,
            ShardToSplit = shardId,
            NewStartingHashKey = ((start + end + 1) / 2).ToString(CultureInfo.InvariantCulture),
        });
        await WaitActiveAsync();
    }

    /// <summary>Merges two adjacent shards and waits until the stream is ACTIVE again.</summary>
    public async Task MergeAsync(string shardId, string adjacentShardId)
    {
        await Kinesis.MergeShardsAsync(new MergeShardsRequest { StreamName = Stream, ShardToMerge = shardId, AdjacentShardToMerge = adjacentShardId });
        await WaitActiveAsync();
    }

    public async Task<IReadOnlyList<Lease>> LeasesAsync() => await new DynamoDbLeaseStore(DynamoDb, LeaseTable).ListAsync(CancellationToken.None);

    /// <summary>Every message of the queue (received and deleted), parsed, waiting until <paramref name="count"/> have arrived.</summary>
    public async Task<IReadOnlyList<JsonElement>> DrainQueueAsync(string queueUrl, int count, TimeSpan timeout)
    {
        var bodies = new List<JsonElement>();
        await Wait.UntilAsync(
            async () =>
            {
                var received = await Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
                foreach (var m in received.Messages ?? [])
                {
                    bodies.Add(JsonDocument.Parse(m.Body).RootElement.Clone());
                    await Sqs.DeleteMessageAsync(queueUrl, m.ReceiptHandle);
                }

                return bodies.Count >= count;
            },
            $"{count} message(s) on {queueUrl}",
            timeout);
        return bodies;
    }

    public ValueTask DisposeAsync()
    {
        Kinesis.Dispose();
        DynamoDb.Dispose();
        Sqs.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Records every call in order, per key (jobId = key/index), notices two calls of one key at once, and fails the
/// jobs <see cref="FailWhen"/> picks. Thread-safe.
/// </summary>
internal sealed class RecordingFunction : IJobFunction
{
    private readonly ConcurrentDictionary<string, int> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _calls = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _byKey = new(StringComparer.Ordinal);
    private int _overlaps;

    /// <summary>Decides a call's fate from the job and its attempt number (1-based per job): null succeeds.</summary>
    public Func<Job, int, Exception?> FailWhen { get; init; } = (_, _) => null;

    /// <summary>Called inside each invocation (e.g. to block).</summary>
    public Func<Job, CancellationToken, Task>? During { get; init; }

    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Calls => [.. _calls];

    public int Overlaps => Volatile.Read(ref _overlaps);

    public int CallCount => _calls.Count;

    /// <summary>Indexes of the calls of <paramref name="key"/>, in call order.</summary>
    public IReadOnlyList<int> CallsOf(string key) => _byKey.TryGetValue(key, out var q) ? [.. q] : [];

    public IReadOnlyCollection<string> Keys => [.. _byKey.Keys];

    public int Attempts(string jobId) => _attempts.GetValueOrDefault(jobId);

    public async ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        string jobId = job.JobId!;
        int slash = jobId.LastIndexOf('/');
        string key = jobId[..slash];
        int index = int.Parse(jobId[(slash + 1)..], CultureInfo.InvariantCulture);
        if (_running.AddOrUpdate(key, 1, (_, n) => n + 1) > 1)
        {
            Interlocked.Increment(ref _overlaps);
        }

        try
        {
            _calls.Enqueue(jobId);
            _byKey.GetOrAdd(key, _ => new ConcurrentQueue<int>()).Enqueue(index);
            int attempt = _attempts.AddOrUpdate(jobId, 1, (_, n) => n + 1);
            if (During is not null)
            {
                await During(job, cancellationToken);
            }

            if (FailWhen(job, attempt) is { } failure)
            {
                throw failure;
            }

            return new JobOutput($"out/{jobId}");
        }
        finally
        {
            _running.AddOrUpdate(key, 0, (_, n) => n - 1);
        }
    }
}
