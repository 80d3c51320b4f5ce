using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Lambda.Events;

namespace Pipeline.Lambda.Handlers;

/// <summary>
/// Handles a Kinesis event: each record's base64 <c>data</c> is the job JSON, itemIdentifier = sequenceNumber. The
/// shared <see cref="BatchHandler"/> must be built with <c>StopOnFirstFailure</c>: after the first failure nothing
/// later starts and everything from it is reported, so the lowest failed sequence number (the new checkpoint) is
/// exact and no later record runs twice.
/// </summary>
public sealed class KinesisHandler(BatchHandler batch)
{
    public async Task<BatchItemFailuresResponse> HandleAsync(KinesisEvent kinesisEvent, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kinesisEvent);
        var items = new DecodedRecord[kinesisEvent.Records.Count];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = ToDecoded(kinesisEvent.Records[i], i);
        }

        IReadOnlyList<ItemResult> results = await batch.RunAsync(items, deadline, cancellationToken).ConfigureAwait(false);
        return BatchItemFailuresResponse.From(results);
    }

    private DecodedRecord ToDecoded(KinesisEventRecord eventRecord, int index)
    {
        KinesisRecord kinesis = eventRecord.Kinesis
            ?? throw new InvalidEventException($"Kinesis record {index} ({eventRecord.EventId}) has no 'kinesis' object");
        if (string.IsNullOrEmpty(kinesis.SequenceNumber))
        {
            throw new InvalidEventException($"Kinesis record {index} ({eventRecord.EventId}) has no sequenceNumber; without it no batch item failure can name it");
        }

        if (!string.Equals(eventRecord.EventSource, EventSources.Kinesis, StringComparison.Ordinal))
        {
            throw new InvalidEventException($"Kinesis record {index} ({kinesis.SequenceNumber}) has eventSource '{eventRecord.EventSource}'; one event holds records of one source");
        }

        byte[]? data = null;
        string? error = null;
        try
        {
            data = Convert.FromBase64String(kinesis.Data ?? string.Empty);
        }
        catch (FormatException)
        {
            error = $"Kinesis record data is not base64 ({(kinesis.Data?.Length ?? 0)} characters)";
        }

        var record = new SourceRecord
        {
            Id = kinesis.SequenceNumber,
            PartitionKey = kinesis.PartitionKey ?? string.Empty,
            Body = data ?? [],
            Source = eventRecord.EventSourceArn ?? "kinesis",
            SentAt = kinesis.ApproximateArrivalTimestamp > 0
                ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(kinesis.ApproximateArrivalTimestamp * 1000))
                : null,
        };
        string laneKey = record.PartitionKey;
        return error is null ? batch.Decode(record, laneKey) : DecodedRecord.Invalid(record, error, laneKey);
    }
}
