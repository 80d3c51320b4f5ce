using Pipeline.Aws.Mappings;

namespace Pipeline.Aws.Provisioning;

/// <summary>
/// THE list of what the mappings need, in one place: <c>bgpipe provision</c> applies it, infra-sam/localstack/init-aws.sh
/// is rendered from it, and tests compare template.yaml with it. Change a resource here and the other two follow
/// (the script by regeneration, the template by hand; the tests say where they differ).
/// </summary>
public sealed class ResourceList
{
    /// <summary>Receives before SQS moves a message to the dead-letter queue (AWS advises at least 5).</summary>
    public const int MaxReceiveCount = 5;

    /// <summary>The jobs queue's visibility timeout is this many times the function timeout (AWS's advice).</summary>
    public const int VisibilityTimeoutMultiplier = 6;

    /// <summary>Dead letters are kept for SQS's maximum, 14 days.</summary>
    public const int DeadLetterRetentionSeconds = 14 * 24 * 60 * 60;

    /// <summary>SQS's largest visibility timeout (12 hours).</summary>
    public const int MaxVisibilityTimeoutSeconds = 12 * 60 * 60;

    public const string DefaultJobsQueue = "jobs";

    public const string IdempotencyPartitionKey = "id";

    public const string IdempotencyTimeToLiveAttribute = "expiration";

    /// <summary>The index that finds a job's records (job status, DLQ redrive), keyed by <see cref="IdempotencyJobKeyAttribute"/>.</summary>
    public const string IdempotencyJobKeyIndex = "job_key-index";

    public const string IdempotencyJobKeyAttribute = "job_key";

    public const string DefaultJobsStream = "jobs-stream";

    /// <summary>The on-failure queue's name is the stream's with this suffix.</summary>
    public const string StreamFailuresSuffix = "-failures";

    /// <summary>The lease table's name after the prefix.</summary>
    public const string DefaultLeaseTable = "kinesis-leases";

    /// <summary>Shard count when none is given.</summary>
    public const int DefaultStreamShards = 1;

    /// <summary>The most shards provision creates a stream with (AWS's default per-account shard quota is far lower in some regions).</summary>
    public const int MaxStreamShards = 1000;

    /// <summary>On-failure records are kept for SQS's maximum, 14 days, like dead letters.</summary>
    public const int StreamFailuresRetentionSeconds = DeadLetterRetentionSeconds;

    private ResourceList(string prefix, int functionTimeoutSeconds, QueueResource deadLetter, QueueResource jobs, TableResource table, IReadOnlyList<BucketResource> buckets,
        StreamResource? stream = null, QueueResource? streamFailures = null, LeaseTableResource? leaseTable = null)
    {
        JobsStream = stream;
        StreamFailuresQueue = streamFailures;
        LeaseTable = leaseTable;
        Prefix = prefix;
        FunctionTimeoutSeconds = functionTimeoutSeconds;
        JobsDeadLetterQueue = deadLetter;
        JobsQueue = jobs;
        IdempotencyTable = table;
        Buckets = buckets;
    }

    public string Prefix { get; }

    public int FunctionTimeoutSeconds { get; }

    /// <summary>Template logical id JobsDeadLetterQueue: <c>&lt;prefix&gt;jobs-dlq</c>, retention 14 days, SSE.</summary>
    public QueueResource JobsDeadLetterQueue { get; }

    /// <summary>Template logical id JobsQueue: <c>&lt;prefix&gt;jobs</c>, visibility 6 x timeout, RedrivePolicy to the DLQ after 5 receives, SSE.</summary>
    public QueueResource JobsQueue { get; }

    /// <summary>Template logical id IdempotencyTable: <c>&lt;prefix&gt;idempotency</c>, key <c>id</c> (S), TTL <c>expiration</c>, index <c>job_key-index</c> on <c>job_key</c> (S), on-demand, SSE, PITR.</summary>
    public TableResource IdempotencyTable { get; }

    /// <summary>Buckets asked for (names as given: jobs name buckets in s3:// URLs, so no prefix).</summary>
    public IReadOnlyList<BucketResource> Buckets { get; }

    /// <summary>Template logical id JobsStream: <c>&lt;prefix&gt;jobs-stream</c> with its shard count; null unless asked for.</summary>
    public StreamResource? JobsStream { get; }

    /// <summary>Template logical id JobsStreamFailuresQueue: <c>&lt;prefix&gt;jobs-stream-failures</c>, retention 14 days, SSE; null unless asked for.</summary>
    public QueueResource? StreamFailuresQueue { get; }

    /// <summary>Template logical id KinesisLeaseTable: <c>&lt;prefix&gt;kinesis-leases</c>, key <c>leaseKey</c> (S), on-demand, SSE; null unless asked for.</summary>
    public LeaseTableResource? LeaseTable { get; }

    /// <summary>Everything, in the order it must be made (a dead-letter queue before the queue that redrives to it).</summary>
    public IEnumerable<ProvisionedResource> All
    {
        get
        {
            yield return JobsDeadLetterQueue;
            yield return JobsQueue;
            yield return IdempotencyTable;
            foreach (BucketResource bucket in Buckets)
            {
                yield return bucket;
            }

            if (JobsStream is not null)
            {
                yield return JobsStream;
            }

            if (StreamFailuresQueue is not null)
            {
                yield return StreamFailuresQueue;
            }

            if (LeaseTable is not null)
            {
                yield return LeaseTable;
            }
        }
    }

    /// <summary>
    /// This list plus the Kinesis resources: the stream <c>&lt;prefix&gt;<paramref name="stream"/></c> with
    /// <paramref name="shards"/> shards (1 to <see cref="MaxStreamShards"/>), the on-failure queue
    /// <c>&lt;prefix&gt;<paramref name="failuresQueue"/></c> (none when null) and the lease table
    /// <c>&lt;prefix&gt;<paramref name="leaseTable"/></c>. Throws <see cref="ArgumentException"/> naming the bad value.
    /// </summary>
    public ResourceList WithStream(int shards = DefaultStreamShards, string stream = DefaultJobsStream, string? failuresQueue = DefaultJobsStream + StreamFailuresSuffix, string leaseTable = DefaultLeaseTable)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(leaseTable);
        if (shards < 1 || shards > MaxStreamShards)
        {
            throw new ArgumentOutOfRangeException(nameof(shards), shards, $"The stream's shard count must be between 1 and {MaxStreamShards} (got {shards}).");
        }

        string streamName = Prefix + stream;
        Check(CheckStreamName(streamName), nameof(stream));
        string leaseName = Prefix + leaseTable;
        Check(ResourceNames.CheckTableName(leaseName), nameof(leaseTable));
        QueueResource? failures = null;
        if (failuresQueue is not null)
        {
            string failuresName = Prefix + failuresQueue;
            Check(ResourceNames.CheckQueueName(failuresName), nameof(failuresQueue));
            failures = new QueueResource("JobsStreamFailuresQueue", failuresName, failuresName.EndsWith(".fifo", StringComparison.Ordinal), null, StreamFailuresRetentionSeconds, null, null);
        }

        string[] names = [.. All.Where(r => r is QueueResource or TableResource).Select(r => r.Name)];
        if (failures is not null && names.Contains(failures.Name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"The on-failure queue '{failures.Name}' would be one of the jobs queues; give it its own name.", nameof(failuresQueue));
        }

        if (names.Contains(leaseName, StringComparer.Ordinal))
        {
            throw new ArgumentException($"The lease table '{leaseName}' would be the idempotency table; give it its own name.", nameof(leaseTable));
        }

        return new ResourceList(Prefix, FunctionTimeoutSeconds, JobsDeadLetterQueue, JobsQueue, IdempotencyTable, Buckets,
            new StreamResource("JobsStream", streamName, shards), failures, new LeaseTableResource("KinesisLeaseTable", leaseName));
    }

    /// <summary>Kinesis stream names: 1-128 of letters, digits, '_', '-' and '.'.</summary>
    public static string? CheckStreamName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length is >= 1 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            ? null
            : $"The Kinesis stream name '{name}' must be 1-128 letters, digits, '_', '-' or '.'.";
    }

    /// <summary>
    /// The resources for one prefix and function timeout. A jobs queue name ending in <c>.fifo</c> makes both queues
    /// FIFO. Throws <see cref="ArgumentException"/> naming the parameter when a resulting name or value is invalid.
    /// </summary>
    public static ResourceList For(
        string prefix = "",
        int functionTimeoutSeconds = FunctionDefinition.DefaultTimeoutSeconds,
        IEnumerable<string>? buckets = null,
        string jobsQueue = DefaultJobsQueue,
        string idempotencyTable = FunctionDefinition.DefaultIdempotencyTable,
        int? streamShards = null)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(jobsQueue);
        ArgumentNullException.ThrowIfNull(idempotencyTable);
        if (functionTimeoutSeconds < 1 || functionTimeoutSeconds > FunctionDefinition.MaxTimeoutSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(functionTimeoutSeconds), functionTimeoutSeconds,
                $"The function timeout must be between 1 and {FunctionDefinition.MaxTimeoutSeconds} seconds (got {functionTimeoutSeconds}).");
        }

        if (prefix.Length > 0 && ResourceNames.CheckQueueName(prefix + "x") is not null)
        {
            throw new ArgumentException($"The prefix '{prefix}' may hold only letters, digits, '-' and '_' (it starts queue and table names).", nameof(prefix));
        }

        bool fifo = jobsQueue.EndsWith(".fifo", StringComparison.Ordinal);
        string jobsName = prefix + jobsQueue;
        string deadLetterName = fifo ? $"{prefix}{jobsQueue[..^5]}-dlq.fifo" : $"{prefix}{jobsQueue}-dlq";
        string tableName = prefix + idempotencyTable;
        Check(ResourceNames.CheckQueueName(jobsName), nameof(jobsQueue));
        Check(ResourceNames.CheckQueueName(deadLetterName), nameof(jobsQueue));
        Check(ResourceNames.CheckTableName(tableName), nameof(idempotencyTable));

        var bucketResources = new List<BucketResource>();
        foreach (string bucket in (buckets ?? []).Distinct(StringComparer.Ordinal))
        {
            Check(ResourceNames.CheckBucketName(bucket), nameof(buckets));
            bucketResources.Add(new BucketResource(BucketLogicalId(bucket), bucket));
        }

        var deadLetter = new QueueResource("JobsDeadLetterQueue", deadLetterName, fifo, null, DeadLetterRetentionSeconds, null, null);
        var jobs = new QueueResource("JobsQueue", jobsName, fifo, VisibilityTimeoutMultiplier * functionTimeoutSeconds, null, deadLetter, MaxReceiveCount);
        var table = new TableResource("IdempotencyTable", tableName, IdempotencyPartitionKey, IdempotencyTimeToLiveAttribute, IdempotencyJobKeyIndex, IdempotencyJobKeyAttribute);
        var list = new ResourceList(prefix, functionTimeoutSeconds, deadLetter, jobs, table, bucketResources);
        return streamShards is { } shards ? list.WithStream(shards) : list;
    }

    /// <summary>
    /// What a pipeline file needs: its function timeout, idempotency table and buckets, and the queue its SQS events
    /// name (a plain name; queues given by URL or ARN are someone else's and are not created). Throws
    /// <see cref="MappingDefinitionException"/> when two SQS events name different queues by name.
    /// A Kinesis event naming its stream by plain name adds the stream (<paramref name="streamShards"/> shards, default 1),
    /// the lease table, and the on-failure queue when <c>DestinationConfig.OnFailure.Destination</c> is a plain SQS queue
    /// name; streams given by ARN are someone else's and are not created. <paramref name="streamShards"/> without such an
    /// event throws <see cref="ArgumentException"/>, as do two Kinesis events naming different streams or failure queues.
    /// </summary>
    public static ResourceList For(PipelineDefinition pipeline, string prefix = "", IEnumerable<string>? extraBuckets = null, int? streamShards = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var named = pipeline.SqsEvents.Where(e => e.Queue.Kind == ReferenceKind.Name).Select(e => (e.Name, e.Queue.Value)).Distinct().ToList();
        if (named.Select(n => n.Value).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            throw new MappingDefinitionException(
            [
                new MappingError(pipeline.Source, null, null, $"Events.{named[1].Name}.Properties.Queue",
                    $"names queue '{named[1].Value}' while Events.{named[0].Name} names '{named[0].Value}'; provision makes one jobs queue"),
            ]);
        }

        string jobsQueue = named.Count > 0 ? named[0].Value : DefaultJobsQueue;
        ResourceList list = For(prefix, pipeline.Function.TimeoutSeconds, pipeline.Function.Buckets.Concat(extraBuckets ?? []), jobsQueue, pipeline.Function.IdempotencyTable);

        var streams = pipeline.KinesisEvents.Where(e => e.Stream.Kind == ReferenceKind.Name).ToList();
        if (streams.Count == 0)
        {
            if (streamShards is { } shards)
            {
                throw new ArgumentException($"A shard count ({shards}) was given but {pipeline.Source} has no Kinesis event naming a stream by name; there is no stream to create.", nameof(streamShards));
            }

            return list;
        }

        KinesisEventDefinition first = streams[0];
        foreach (KinesisEventDefinition other in streams.Skip(1))
        {
            if (other.Stream.Value != first.Stream.Value)
            {
                throw new MappingDefinitionException(
                [
                    new MappingError(pipeline.Source, null, null, $"Events.{other.Name}.Properties.Stream",
                        $"names stream '{other.Stream.Value}' while Events.{first.Name} names '{first.Stream.Value}'; provision makes one stream"),
                ]);
            }
        }

        var failures = streams.Select(e => (e.Name, Queue: FailureQueueName(e))).Where(f => f.Queue is not null).Distinct().ToList();
        if (failures.Select(f => f.Queue).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            throw new MappingDefinitionException(
            [
                new MappingError(pipeline.Source, null, null, $"Events.{failures[1].Name}.Properties.DestinationConfig.OnFailure.Destination",
                    $"names queue '{failures[1].Queue}' while Events.{failures[0].Name} names '{failures[0].Queue}'; provision makes one on-failure queue"),
            ]);
        }

        return list.WithStream(streamShards ?? DefaultStreamShards, first.Stream.Value, failures.Count > 0 ? failures[0].Queue : null);
    }

    /// <summary>A plain SQS queue name in DestinationConfig.OnFailure, or null (ARNs and SNS/S3 are not made here).</summary>
    private static string? FailureQueueName(KinesisEventDefinition e) =>
        e.OnFailure is { Destination.Kind: ReferenceKind.Name } f && (f.Type is null || string.Equals(f.Type, "SQS", StringComparison.OrdinalIgnoreCase))
            ? f.Destination.Value
            : null;

    private static void Check(string? problem, string parameter)
    {
        if (problem is not null)
        {
            throw new ArgumentException(problem, parameter);
        }
    }

    private static string BucketLogicalId(string bucket) =>
        "Bucket" + string.Concat(bucket.Split('-', '.').Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}
