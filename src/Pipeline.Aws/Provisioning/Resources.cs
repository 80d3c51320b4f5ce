using System.Globalization;
using System.Text.Json;

namespace Pipeline.Aws.Provisioning;

/// <summary>One thing <c>bgpipe provision</c> makes; <see cref="LogicalId"/> is its name in template.yaml.</summary>
public abstract class ProvisionedResource
{
    private protected ProvisionedResource(string logicalId, string name)
    {
        LogicalId = logicalId;
        Name = name;
    }

    /// <summary>The resource's logical id in template.yaml (a test compares the two).</summary>
    public string LogicalId { get; }

    /// <summary>The physical name, prefix included.</summary>
    public string Name { get; }

    /// <summary>What it is, for people: "SQS queue", "DynamoDB table", "S3 bucket".</summary>
    public abstract string Kind { get; }

    public override string ToString() => $"{Kind} {Name}";
}

/// <summary>An SQS queue with the attributes it must have.</summary>
public sealed class QueueResource : ProvisionedResource
{
    internal QueueResource(string logicalId, string name, bool fifo, int? visibilityTimeoutSeconds, int? messageRetentionPeriodSeconds, QueueResource? deadLetterQueue, int? maxReceiveCount)
        : base(logicalId, name)
    {
        Fifo = fifo;
        VisibilityTimeoutSeconds = visibilityTimeoutSeconds;
        MessageRetentionPeriodSeconds = messageRetentionPeriodSeconds;
        DeadLetterQueue = deadLetterQueue;
        MaxReceiveCount = maxReceiveCount;
    }

    public override string Kind => "SQS queue";

    public bool Fifo { get; }

    /// <summary>Null leaves SQS's default (30 s).</summary>
    public int? VisibilityTimeoutSeconds { get; }

    /// <summary>Null leaves SQS's default (4 days).</summary>
    public int? MessageRetentionPeriodSeconds { get; }

    /// <summary>SQS-managed server-side encryption (always on, as in template.yaml).</summary>
    public bool SqsManagedSse => true;

    /// <summary>Where the RedrivePolicy sends messages after <see cref="MaxReceiveCount"/> receives; null for none.</summary>
    public QueueResource? DeadLetterQueue { get; }

    public int? MaxReceiveCount { get; }

    /// <summary>
    /// The attributes as SQS stores them. The RedrivePolicy needs the dead-letter queue's ARN, known once it exists;
    /// FifoQueue is fixed at creation and left out when <paramref name="includeCreateOnly"/> is false.
    /// </summary>
    public IReadOnlyDictionary<string, string> Attributes(string? deadLetterArn, bool includeCreateOnly = true)
    {
        var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Fifo && includeCreateOnly)
        {
            attributes["FifoQueue"] = "true";
        }

        if (VisibilityTimeoutSeconds is { } visibility)
        {
            attributes["VisibilityTimeout"] = visibility.ToString(CultureInfo.InvariantCulture);
        }

        if (MessageRetentionPeriodSeconds is { } retention)
        {
            attributes["MessageRetentionPeriod"] = retention.ToString(CultureInfo.InvariantCulture);
        }

        attributes["SqsManagedSseEnabled"] = SqsManagedSse ? "true" : "false";
        if (DeadLetterQueue is not null)
        {
            if (deadLetterArn is null)
            {
                throw new InvalidOperationException($"The RedrivePolicy of {Name} needs the ARN of {DeadLetterQueue.Name}.");
            }

            attributes["RedrivePolicy"] = RedrivePolicy(deadLetterArn, MaxReceiveCount!.Value);
        }

        return attributes;
    }

    /// <summary>The RedrivePolicy JSON, with the key names SQS uses.</summary>
    public static string RedrivePolicy(string deadLetterArn, int maxReceiveCount) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["deadLetterTargetArn"] = deadLetterArn, ["maxReceiveCount"] = maxReceiveCount });
}

/// <summary>A DynamoDB table with a string partition key, a TTL attribute and optionally one global secondary index.</summary>
public sealed class TableResource : ProvisionedResource
{
    internal TableResource(string logicalId, string name, string partitionKey, string timeToLiveAttribute, string? indexName = null, string? indexPartitionKey = null)
        : base(logicalId, name)
    {
        PartitionKey = partitionKey;
        TimeToLiveAttribute = timeToLiveAttribute;
        IndexName = indexName;
        IndexPartitionKey = indexPartitionKey;
    }

    /// <summary>A global secondary index (string partition key <see cref="IndexPartitionKey"/>, all attributes projected), or null.</summary>
    public string? IndexName { get; }

    public string? IndexPartitionKey { get; }

    public override string Kind => "DynamoDB table";

    /// <summary>The partition (HASH) key, of type S.</summary>
    public string PartitionKey { get; }

    public string PartitionKeyType => "S";

    /// <summary>The attribute DynamoDB's TTL reads (epoch seconds).</summary>
    public string TimeToLiveAttribute { get; }

    public string BillingMode => "PAY_PER_REQUEST";

    public bool ServerSideEncryption => true;

    public bool PointInTimeRecovery => true;
}

/// <summary>An S3 bucket (created only when asked for).</summary>
public sealed class BucketResource : ProvisionedResource
{
    internal BucketResource(string logicalId, string name)
        : base(logicalId, name)
    {
    }

    public override string Kind => "S3 bucket";
}

/// <summary>A Kinesis data stream with a fixed shard count (provisioned mode).</summary>
public sealed class StreamResource : ProvisionedResource
{
    internal StreamResource(string logicalId, string name, int shardCount)
        : base(logicalId, name)
    {
        ShardCount = shardCount;
    }

    public override string Kind => "Kinesis stream";

    /// <summary>Open shards at creation; provision never reshards an existing stream (it warns instead).</summary>
    public int ShardCount { get; }
}

/// <summary>The Kinesis shard lease table: partition key <c>leaseKey</c> (S), on-demand, SSE (see LeaseTableSchema).</summary>
public sealed class LeaseTableResource : ProvisionedResource
{
    internal LeaseTableResource(string logicalId, string name)
        : base(logicalId, name)
    {
    }

    public override string Kind => "DynamoDB table";

    public string PartitionKey => Kinesis.Leases.LeaseTableSchema.KeyAttribute;

    public string PartitionKeyType => "S";

    public string BillingMode => "PAY_PER_REQUEST";

    public bool ServerSideEncryption => true;
}
