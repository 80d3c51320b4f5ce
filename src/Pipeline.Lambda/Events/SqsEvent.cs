using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Events;

/// <summary>
/// The SQS event Lambda's event source mapping sends. Stands in for <c>Amazon.Lambda.SQSEvents.SQSEvent</c>
/// (package Amazon.Lambda.SQSEvents), with AWS's JSON names.
/// </summary>
public sealed class SqsEvent
{
    [JsonPropertyName("Records")]
    public IReadOnlyList<SqsMessage> Records { get; init; } = [];
}

/// <summary>One message of an <see cref="SqsEvent"/>; stands in for <c>SQSEvent.SQSMessage</c> (Amazon.Lambda.SQSEvents).</summary>
public sealed class SqsMessage
{
    [JsonPropertyName("messageId")]
    public string? MessageId { get; init; }

    [JsonPropertyName("receiptHandle")]
    public string? ReceiptHandle { get; init; }

    [JsonPropertyName("body")]
    public string? Body { get; init; }

    /// <summary>ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, MessageGroupId...</summary>
    [JsonPropertyName("attributes")]
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    [JsonPropertyName("messageAttributes")]
    public IReadOnlyDictionary<string, SqsMessageAttribute>? MessageAttributes { get; init; }

    [JsonPropertyName("md5OfBody")]
    public string? Md5OfBody { get; init; }

    [JsonPropertyName("md5OfMessageAttributes")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Md5OfMessageAttributes { get; init; }

    [JsonPropertyName("eventSource")]
    public string? EventSource { get; init; }

    [JsonPropertyName("eventSourceARN")]
    public string? EventSourceArn { get; init; }

    [JsonPropertyName("awsRegion")]
    public string? AwsRegion { get; init; }
}

/// <summary>A message attribute; stands in for <c>SQSEvent.MessageAttribute</c> (Amazon.Lambda.SQSEvents).</summary>
public sealed class SqsMessageAttribute
{
    [JsonPropertyName("stringValue")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StringValue { get; init; }

    [JsonPropertyName("binaryValue")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BinaryValue { get; init; }

    [JsonPropertyName("stringListValues")]
    public IReadOnlyList<string> StringListValues { get; init; } = [];

    [JsonPropertyName("binaryListValues")]
    public IReadOnlyList<string> BinaryListValues { get; init; } = [];

    [JsonPropertyName("dataType")]
    public string? DataType { get; init; }
}
