using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Events;

/// <summary>
/// The Kinesis event Lambda's event source mapping sends. Stands in for <c>Amazon.Lambda.KinesisEvents.KinesisEvent</c>
/// (package Amazon.Lambda.KinesisEvents), with AWS's JSON names.
/// </summary>
public sealed class KinesisEvent
{
    [JsonPropertyName("Records")]
    public IReadOnlyList<KinesisEventRecord> Records { get; init; } = [];
}

/// <summary>One record of a <see cref="KinesisEvent"/>; stands in for <c>KinesisEvent.KinesisEventRecord</c>.</summary>
public sealed class KinesisEventRecord
{
    [JsonPropertyName("kinesis")]
    public KinesisRecord? Kinesis { get; init; }

    [JsonPropertyName("eventSource")]
    public string? EventSource { get; init; }

    /// <summary><c>shardId-000000000000:&lt;sequence number&gt;</c>.</summary>
    [JsonPropertyName("eventID")]
    public string? EventId { get; init; }

    [JsonPropertyName("invokeIdentityArn")]
    public string? InvokeIdentityArn { get; init; }

    [JsonPropertyName("eventVersion")]
    public string? EventVersion { get; init; }

    [JsonPropertyName("eventName")]
    public string? EventName { get; init; }

    [JsonPropertyName("eventSourceARN")]
    public string? EventSourceArn { get; init; }

    [JsonPropertyName("awsRegion")]
    public string? AwsRegion { get; init; }
}

/// <summary>The stream record itself; stands in for <c>KinesisEvent.Record</c> (Amazon.Lambda.KinesisEvents).</summary>
public sealed class KinesisRecord
{
    [JsonPropertyName("partitionKey")]
    public string? PartitionKey { get; init; }

    [JsonPropertyName("kinesisSchemaVersion")]
    public string? KinesisSchemaVersion { get; init; }

    /// <summary>The record's bytes, base64 (System.Text.Json reads and writes byte[] as base64).</summary>
    [JsonPropertyName("data")]
    public string? Data { get; init; }

    [JsonPropertyName("sequenceNumber")]
    public string? SequenceNumber { get; init; }

    /// <summary>Seconds since the epoch, fractional (e.g. 1763841600.123).</summary>
    [JsonPropertyName("approximateArrivalTimestamp")]
    public double ApproximateArrivalTimestamp { get; init; }

    [JsonPropertyName("encryptionType")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? EncryptionType { get; init; }
}
