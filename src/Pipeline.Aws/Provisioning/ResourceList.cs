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

    private ResourceList(string prefix, int functionTimeoutSeconds, QueueResource deadLetter, QueueResource jobs, TableResource table, IReadOnlyList<BucketResource> buckets)
    {
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

    /// <summary>Template logical id IdempotencyTable: <c>&lt;prefix&gt;idempotency</c>, key <c>id</c> (S), TTL <c>expiration</c>, on-demand, SSE, PITR.</summary>
    public TableResource IdempotencyTable { get; }

    /// <summary>Buckets asked for (names as given: jobs name buckets in s3:// URLs, so no prefix).</summary>
    public IReadOnlyList<BucketResource> Buckets { get; }

    // The Kinesis issue adds here: the stream (shard count), its on-failure queue and the shard lease table.

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
        }
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
        string idempotencyTable = FunctionDefinition.DefaultIdempotencyTable)
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
        var table = new TableResource("IdempotencyTable", tableName, IdempotencyPartitionKey, IdempotencyTimeToLiveAttribute);
        return new ResourceList(prefix, functionTimeoutSeconds, deadLetter, jobs, table, bucketResources);
    }

    /// <summary>
    /// What a pipeline file needs: its function timeout, idempotency table and buckets, and the queue its SQS events
    /// name (a plain name; queues given by URL or ARN are someone else's and are not created). Throws
    /// <see cref="MappingDefinitionException"/> when two SQS events name different queues by name.
    /// </summary>
    public static ResourceList For(PipelineDefinition pipeline, string prefix = "", IEnumerable<string>? extraBuckets = null)
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
        return For(prefix, pipeline.Function.TimeoutSeconds, pipeline.Function.Buckets.Concat(extraBuckets ?? []), jobsQueue, pipeline.Function.IdempotencyTable);
    }

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
