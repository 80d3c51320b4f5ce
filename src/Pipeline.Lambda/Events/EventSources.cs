using System.Text.Json;

namespace Pipeline.Lambda.Events;

/// <summary>The <c>eventSource</c> values this function handles, and how an event is told apart.</summary>
public static class EventSources
{
    public const string Sqs = "aws:sqs";

    public const string Kinesis = "aws:kinesis";

    /// <summary>
    /// The <c>eventSource</c> of the event's first record, read without materializing the event. Throws
    /// <see cref="UnsupportedEventException"/> naming what is wrong when the payload has no records or no source.
    /// </summary>
    public static string Detect(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new UnsupportedEventException("the event is not a JSON object; expected an SQS or Kinesis event {\"Records\":[...]}");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isRecords = reader.ValueTextEquals("Records");
                reader.Read();
                if (!isRecords)
                {
                    reader.Skip();
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new UnsupportedEventException("the event's 'Records' is not an array");
                }

                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new UnsupportedEventException("the event's 'Records' is empty or holds no objects; nothing tells its source apart");
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isSource = reader.ValueTextEquals("eventSource");
                    reader.Read();
                    if (isSource)
                    {
                        return reader.TokenType == JsonTokenType.String
                            ? reader.GetString()!
                            : throw new UnsupportedEventException("the first record's 'eventSource' is not a string");
                    }

                    reader.Skip();
                }

                throw new UnsupportedEventException("the first record has no 'eventSource'; expected aws:sqs or aws:kinesis");
            }

            throw new UnsupportedEventException("the event has no 'Records'; this function handles SQS and Kinesis events only");
        }
        catch (JsonException ex)
        {
            throw new UnsupportedEventException($"the event is not valid JSON: {ex.Message}", ex);
        }
    }
}

/// <summary>An event this function cannot handle (unknown source, no records, not JSON); the message names it.</summary>
public sealed class UnsupportedEventException : Exception
{
    public UnsupportedEventException(string message) : base(message) { }

    public UnsupportedEventException(string message, Exception inner) : base(message, inner) { }

    public UnsupportedEventException() { }
}
