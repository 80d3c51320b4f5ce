using System.Text;
using System.Text.Json;
using Pipeline.Core.Records;
using Pipeline.Lambda.Events;

namespace Pipeline.Cli.Tools;

/// <summary>The kind of Lambda event a file holds.</summary>
internal enum EventKind
{
    Sqs,
    Kinesis,
}

/// <summary>
/// One record of an event file, as it goes back to a queue or a stream: the bytes (SQS body, or Kinesis data decoded
/// from base64) and what it carried besides (message attributes, FIFO group and deduplication ids, partition key).
/// </summary>
internal sealed record ReplayRecord
{
    public required string File { get; init; }

    public required EventKind Kind { get; init; }

    /// <summary>The SQS messageId or the Kinesis sequenceNumber in the file.</summary>
    public required string RecordId { get; init; }

    public required byte[] Data { get; init; }

    /// <summary>Kinesis: the record's partitionKey; SQS: its MessageGroupId attribute, if any.</summary>
    public string? PartitionKey { get; init; }

    public string? MessageDeduplicationId { get; init; }

    public IReadOnlyDictionary<string, SqsMessageAttribute> MessageAttributes { get; init; } = new Dictionary<string, SqsMessageAttribute>();

    /// <summary>
    /// The partition key when this record goes to a stream: the Kinesis partition key, else the SQS MessageGroupId,
    /// else the job's key (so a job's copies stay in order on one shard), else the message id (a body that is no job).
    /// </summary>
    public string StreamPartitionKey()
    {
        if (!string.IsNullOrEmpty(PartitionKey))
        {
            return PartitionKey;
        }

        return AutoJobDecoder.Instance.TryDecode(Data, out Job? job, out _) ? job!.Key : RecordId;
    }
}

/// <summary>A file that is not an SQS or Kinesis Lambda event; the message names the file and what is wrong.</summary>
internal sealed class EventFileException : Exception
{
    public EventFileException(string message) : base(message) { }

    public EventFileException(string message, Exception inner) : base(message, inner) { }

    public EventFileException() { }
}

/// <summary>Reads SQS and Kinesis Lambda event files through the function's own contracts (AWS's JSON names).</summary>
internal static class EventFile
{
    /// <summary>The event's kind and payload; throws <see cref="EventFileException"/> naming the file and the problem.</summary>
    public static (EventKind Kind, byte[] Payload) Read(string path)
    {
        if (Directory.Exists(path))
        {
            throw new EventFileException($"{path} is a folder; give event files (e.g. {Path.Combine(path, "*.json")})");
        }

        if (!System.IO.File.Exists(path))
        {
            throw new EventFileException($"{path}: no such file");
        }

        byte[] payload;
        try
        {
            payload = System.IO.File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new EventFileException($"{path}: cannot read it: {ex.Message}", ex);
        }

        string source;
        try
        {
            source = EventSources.Detect(payload);
        }
        catch (UnsupportedEventException ex)
        {
            throw new EventFileException($"{path}: {ex.Message}", ex);
        }

        return source switch
        {
            EventSources.Sqs => (EventKind.Sqs, payload),
            EventSources.Kinesis => (EventKind.Kinesis, payload),
            _ => throw new EventFileException($"{path}: eventSource '{source}' is neither {EventSources.Sqs} nor {EventSources.Kinesis}; only SQS and Kinesis events can be replayed or invoked"),
        };
    }

    /// <summary>Every record of the file, in order.</summary>
    public static IReadOnlyList<ReplayRecord> Load(string path)
    {
        (EventKind kind, byte[] payload) = Read(path);
        try
        {
            return kind == EventKind.Sqs ? FromSqs(path, payload) : FromKinesis(path, payload);
        }
        catch (JsonException ex)
        {
            throw new EventFileException($"{path}: the {kind} event does not match its contract: {ex.Message}", ex);
        }
    }

    private static List<ReplayRecord> FromSqs(string path, byte[] payload)
    {
        SqsEvent e = JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.SqsEvent)
            ?? throw new EventFileException($"{path}: the SQS event is null");
        var records = new List<ReplayRecord>(e.Records.Count);
        for (int i = 0; i < e.Records.Count; i++)
        {
            SqsMessage m = e.Records[i];
            string id = m.MessageId ?? throw new EventFileException($"{path}: SQS record {i} has no messageId");
            if (m.EventSource != EventSources.Sqs)
            {
                throw new EventFileException($"{path}: record {i} ({id}) has eventSource '{m.EventSource}'; one event holds records of one source");
            }

            string body = m.Body ?? throw new EventFileException($"{path}: SQS record {i} ({id}) has no body");
            foreach ((string name, SqsMessageAttribute attribute) in m.MessageAttributes ?? new Dictionary<string, SqsMessageAttribute>())
            {
                if (attribute.StringValue is null && attribute.BinaryValue is null)
                {
                    throw new EventFileException($"{path}: SQS record {i} ({id}) has message attribute '{name}' with neither stringValue nor binaryValue");
                }

                if (attribute.BinaryValue is { } binary && !Convert.TryFromBase64String(binary, new byte[binary.Length], out _))
                {
                    throw new EventFileException($"{path}: SQS record {i} ({id}) has message attribute '{name}' whose binaryValue is not base64");
                }
            }

            IReadOnlyDictionary<string, string> attributes = m.Attributes ?? new Dictionary<string, string>();
            records.Add(new ReplayRecord
            {
                File = path,
                Kind = EventKind.Sqs,
                RecordId = id,
                Data = Encoding.UTF8.GetBytes(body),
                PartitionKey = attributes.GetValueOrDefault("MessageGroupId"),
                MessageDeduplicationId = attributes.GetValueOrDefault("MessageDeduplicationId"),
                MessageAttributes = m.MessageAttributes ?? new Dictionary<string, SqsMessageAttribute>(),
            });
        }

        return records;
    }

    private static List<ReplayRecord> FromKinesis(string path, byte[] payload)
    {
        KinesisEvent e = JsonSerializer.Deserialize(payload, LambdaJsonContext.Default.KinesisEvent)
            ?? throw new EventFileException($"{path}: the Kinesis event is null");
        var records = new List<ReplayRecord>(e.Records.Count);
        for (int i = 0; i < e.Records.Count; i++)
        {
            KinesisEventRecord r = e.Records[i];
            KinesisRecord k = r.Kinesis ?? throw new EventFileException($"{path}: Kinesis record {i} has no 'kinesis' object");
            string id = k.SequenceNumber ?? r.EventId ?? throw new EventFileException($"{path}: Kinesis record {i} has no sequenceNumber");
            if (r.EventSource != EventSources.Kinesis)
            {
                throw new EventFileException($"{path}: record {i} ({id}) has eventSource '{r.EventSource}'; one event holds records of one source");
            }

            if (string.IsNullOrEmpty(k.PartitionKey))
            {
                throw new EventFileException($"{path}: Kinesis record {i} ({id}) has no partitionKey");
            }

            byte[] data;
            try
            {
                data = Convert.FromBase64String(k.Data ?? throw new EventFileException($"{path}: Kinesis record {i} ({id}) has no data"));
            }
            catch (FormatException ex)
            {
                throw new EventFileException($"{path}: Kinesis record {i} ({id}) has data that is not base64: {ex.Message}", ex);
            }

            records.Add(new ReplayRecord { File = path, Kind = EventKind.Kinesis, RecordId = id, Data = data, PartitionKey = k.PartitionKey });
        }

        return records;
    }
}
