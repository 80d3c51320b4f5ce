using System.Text.Json.Serialization;

namespace Pipeline.Aws.Kinesis.Client;

// The Kinesis Data Streams API shapes (API version 2013-12-02), named as AWSSDK.Kinesis names its model types. Member
// names are the wire's, so the JSON is the service's own; null members are left out of requests.

[JsonConverter(typeof(JsonStringEnumConverter<ShardIteratorType>))]
public enum ShardIteratorType
{
    [JsonStringEnumMemberName("TRIM_HORIZON")] TrimHorizon,
    [JsonStringEnumMemberName("LATEST")] Latest,
    [JsonStringEnumMemberName("AT_TIMESTAMP")] AtTimestamp,
    [JsonStringEnumMemberName("AT_SEQUENCE_NUMBER")] AtSequenceNumber,
    [JsonStringEnumMemberName("AFTER_SEQUENCE_NUMBER")] AfterSequenceNumber,
}

[JsonConverter(typeof(JsonStringEnumConverter<StreamStatus>))]
public enum StreamStatus
{
    [JsonStringEnumMemberName("CREATING")] Creating,
    [JsonStringEnumMemberName("DELETING")] Deleting,
    [JsonStringEnumMemberName("ACTIVE")] Active,
    [JsonStringEnumMemberName("UPDATING")] Updating,
}

public sealed record CreateStreamRequest
{
    public required string StreamName { get; init; }

    /// <summary>Null creates an on-demand stream where the endpoint supports it.</summary>
    public int? ShardCount { get; init; }
}

public sealed record DeleteStreamRequest
{
    public required string StreamName { get; init; }

    public bool? EnforceConsumerDeletion { get; init; }
}

public sealed record DescribeStreamSummaryRequest
{
    public required string StreamName { get; init; }
}

public sealed record DescribeStreamSummaryResponse
{
    public required StreamDescriptionSummary StreamDescriptionSummary { get; init; }
}

public sealed record StreamDescriptionSummary
{
    public required string StreamName { get; init; }

    public string? StreamARN { get; init; }

    public StreamStatus StreamStatus { get; init; }

    public int RetentionPeriodHours { get; init; }

    [JsonConverter(typeof(EpochSecondsConverter))]
    public DateTimeOffset? StreamCreationTimestamp { get; init; }

    public int OpenShardCount { get; init; }

    public int? ConsumerCount { get; init; }

    public string? EncryptionType { get; init; }
}

/// <summary>
/// <see cref="StreamName"/> for the first page, <see cref="NextToken"/> alone for later ones (AWS refuses both together;
/// moto 5.2.1 wants both, see <see cref="KinesisClientExtensions.ListAllShardsAsync"/>).
/// </summary>
public sealed record ListShardsRequest
{
    public string? StreamName { get; init; }

    public string? NextToken { get; init; }

    public string? ExclusiveStartShardId { get; init; }

    public int? MaxResults { get; init; }
}

public sealed record ListShardsResponse
{
    public IReadOnlyList<Shard> Shards { get; init; } = [];

    /// <summary>Null on the last page.</summary>
    public string? NextToken { get; init; }
}

public sealed record Shard
{
    public required string ShardId { get; init; }

    public string? ParentShardId { get; init; }

    public string? AdjacentParentShardId { get; init; }

    public required HashKeyRange HashKeyRange { get; init; }

    public required SequenceNumberRange SequenceNumberRange { get; init; }

    /// <summary>A shard is open until a split or merge closes it (it then has an ending sequence number).</summary>
    [JsonIgnore]
    public bool IsOpen => SequenceNumberRange.EndingSequenceNumber is null;
}

/// <summary>Inclusive range of 128-bit hash keys, as decimal strings.</summary>
public sealed record HashKeyRange
{
    public required string StartingHashKey { get; init; }

    public required string EndingHashKey { get; init; }
}

public sealed record SequenceNumberRange
{
    public required string StartingSequenceNumber { get; init; }

    public string? EndingSequenceNumber { get; init; }
}

public sealed record GetShardIteratorRequest
{
    public required string StreamName { get; init; }

    public required string ShardId { get; init; }

    public required ShardIteratorType ShardIteratorType { get; init; }

    /// <summary>Required for AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER.</summary>
    public string? StartingSequenceNumber { get; init; }

    /// <summary>Required for AT_TIMESTAMP; sent as epoch seconds.</summary>
    [JsonConverter(typeof(EpochSecondsConverter))]
    public DateTimeOffset? Timestamp { get; init; }
}

public sealed record GetShardIteratorResponse
{
    public required string ShardIterator { get; init; }
}

public sealed record GetRecordsRequest
{
    public required string ShardIterator { get; init; }

    /// <summary>At most 10,000; null lets the service choose (its maximum).</summary>
    public int? Limit { get; init; }
}

public sealed record GetRecordsResponse
{
    public IReadOnlyList<Record> Records { get; init; } = [];

    /// <summary>Null once the shard is closed and fully read.</summary>
    public string? NextShardIterator { get; init; }

    public long? MillisBehindLatest { get; init; }

    /// <summary>Set when the end of a closed shard is reached: where reading goes on.</summary>
    public IReadOnlyList<ChildShard>? ChildShards { get; init; }
}

public sealed record Record
{
    public required string SequenceNumber { get; init; }

    [JsonConverter(typeof(EpochSecondsConverter))]
    public DateTimeOffset? ApproximateArrivalTimestamp { get; init; }

    /// <summary>The record's bytes (base64 on the wire).</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    public required string PartitionKey { get; init; }

    public string? EncryptionType { get; init; }
}

public sealed record ChildShard
{
    public required string ShardId { get; init; }

    public IReadOnlyList<string> ParentShards { get; init; } = [];

    public required HashKeyRange HashKeyRange { get; init; }
}

public sealed record PutRecordsRequest
{
    public required string StreamName { get; init; }

    /// <summary>1 to 500 entries.</summary>
    public required IReadOnlyList<PutRecordsRequestEntry> Records { get; init; }
}

public sealed record PutRecordsRequestEntry
{
    public ReadOnlyMemory<byte> Data { get; init; }

    public required string PartitionKey { get; init; }

    /// <summary>Overrides the MD5 of <see cref="PartitionKey"/> as the hash key (a decimal string).</summary>
    public string? ExplicitHashKey { get; init; }
}

public sealed record PutRecordsResponse
{
    /// <summary>How many entries of <see cref="Records"/> carry an error code (their records were not written).</summary>
    public int? FailedRecordCount { get; init; }

    /// <summary>One result per request entry, in request order.</summary>
    public IReadOnlyList<PutRecordsResultEntry> Records { get; init; } = [];

    public string? EncryptionType { get; init; }
}

public sealed record PutRecordsResultEntry
{
    public string? SequenceNumber { get; init; }

    public string? ShardId { get; init; }

    /// <summary>ProvisionedThroughputExceededException or InternalFailure when the record was not written.</summary>
    public string? ErrorCode { get; init; }

    public string? ErrorMessage { get; init; }
}

public sealed record SplitShardRequest
{
    public required string StreamName { get; init; }

    public required string ShardToSplit { get; init; }

    /// <summary>The lowest hash key (decimal) of the upper child.</summary>
    public required string NewStartingHashKey { get; init; }
}

public sealed record MergeShardsRequest
{
    public required string StreamName { get; init; }

    public required string ShardToMerge { get; init; }

    public required string AdjacentShardToMerge { get; init; }
}
