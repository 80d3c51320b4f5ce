using System.Globalization;
using System.Text;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Lambda.Events;

namespace Pipeline.Lambda.Handlers;

/// <summary>
/// Handles an SQS event: each message becomes a <see cref="SourceRecord"/> (itemIdentifier = messageId), runs through
/// the shared <see cref="BatchHandler"/>, and the failures come back as <c>batchItemFailures</c> so only those
/// messages stay on the queue (ReportBatchItemFailures).
/// </summary>
public sealed class SqsHandler(BatchHandler batch)
{
    public async Task<BatchItemFailuresResponse> HandleAsync(SqsEvent sqsEvent, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sqsEvent);
        var items = new DecodedRecord[sqsEvent.Records.Count];
        for (int i = 0; i < items.Length; i++)
        {
            SourceRecord record = ToRecord(sqsEvent.Records[i], i);
            items[i] = batch.Decode(record, record.PartitionKey.Length > 0 ? record.PartitionKey : record.Id);
        }

        IReadOnlyList<ItemResult> results = await batch.RunAsync(items, deadline, cancellationToken).ConfigureAwait(false);
        return BatchItemFailuresResponse.From(results);
    }

    /// <summary>
    /// The record for one message. A message without a messageId cannot be reported on its own (a missing
    /// itemIdentifier fails the whole batch on AWS), so it fails the invocation, naming its position.
    /// </summary>
    public static SourceRecord ToRecord(SqsMessage message, int index)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (string.IsNullOrEmpty(message.MessageId))
        {
            throw new InvalidEventException($"SQS record {index} has no messageId; without it no batch item failure can name it");
        }

        if (!string.Equals(message.EventSource, EventSources.Sqs, StringComparison.Ordinal))
        {
            throw new InvalidEventException($"SQS record {index} ({message.MessageId}) has eventSource '{message.EventSource}'; one event holds records of one source");
        }

        IReadOnlyDictionary<string, string> attributes = message.Attributes ?? new Dictionary<string, string>();
        int receiveCount = attributes.TryGetValue("ApproximateReceiveCount", out string? count)
            && int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) && parsed > 0 ? parsed : 1;
        DateTimeOffset? sentAt = attributes.TryGetValue("SentTimestamp", out string? sent)
            && long.TryParse(sent, NumberStyles.None, CultureInfo.InvariantCulture, out long ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        return new SourceRecord
        {
            Id = message.MessageId,
            PartitionKey = attributes.TryGetValue("MessageGroupId", out string? group) ? group : string.Empty,
            Body = Encoding.UTF8.GetBytes(message.Body ?? string.Empty),
            Attributes = attributes,
            ReceiveCount = receiveCount,
            Source = message.EventSourceArn ?? "sqs",
            ReceiptHandle = message.ReceiptHandle,
            SentAt = sentAt,
        };
    }
}

/// <summary>An event of a known source that breaks its contract (a record without its identifier); the message names it.</summary>
public sealed class InvalidEventException : Exception
{
    public InvalidEventException(string message) : base(message) { }

    public InvalidEventException(string message, Exception inner) : base(message, inner) { }

    public InvalidEventException() { }
}
