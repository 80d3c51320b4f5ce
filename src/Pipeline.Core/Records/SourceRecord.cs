namespace Pipeline.Core.Records;

/// <summary>
/// One message or stream record as a poller received it. The poller owns acknowledgement, so the record carries
/// what its acknowledger needs (receipt handle) but never talks to the source itself.
/// </summary>
public sealed class SourceRecord
{
    private static readonly IReadOnlyDictionary<string, string> NoAttributes = new Dictionary<string, string>();

    /// <summary>SQS messageId or Kinesis sequence number: the <c>itemIdentifier</c> of a batch item failure.</summary>
    public required string Id { get; init; }

    /// <summary>Kinesis partition key or SQS FIFO MessageGroupId; empty for standard SQS.</summary>
    public string PartitionKey { get; init; } = string.Empty;

    public required ReadOnlyMemory<byte> Body { get; init; }

    public IReadOnlyDictionary<string, string> Attributes { get; init; } = NoAttributes;

    /// <summary>ApproximateReceiveCount at this receive (1 on the first delivery).</summary>
    public int ReceiveCount { get; init; } = 1;

    /// <summary>Identity of the source (queue URL/ARN, stream ARN, or an embedded queue name).</summary>
    public required string Source { get; init; }

    /// <summary>Opaque handle the source's acknowledger needs; the latest receive's handle.</summary>
    public string? ReceiptHandle { get; init; }

    public DateTimeOffset? SentAt { get; init; }

    /// <summary>
    /// Size this record adds to an invocation payload: its body plus a fixed allowance for the event envelope
    /// (ids, attributes, ARNs) that Lambda wraps around each record.
    /// </summary>
    public long PayloadBytes => Body.Length + RecordEnvelopeOverheadBytes;

    /// <summary>Approximate JSON envelope per record in a Lambda SQS/Kinesis event.</summary>
    public const int RecordEnvelopeOverheadBytes = 512;
}
