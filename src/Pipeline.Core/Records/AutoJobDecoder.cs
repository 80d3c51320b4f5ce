using System.Text.Json;

namespace Pipeline.Core.Records;

/// <summary>
/// The decoder every mapping and handler uses by default: a body that looks like a MassTransit envelope (a top-level
/// <c>messageType</c>, or a top-level <c>message</c> beside no job field) goes to <see cref="MassTransitEnvelopeDecoder"/>;
/// everything else, including bodies that are not JSON at all, to the strict <see cref="JsonJobDecoder"/>, whose
/// errors are unchanged. So one queue may carry plain jobs and MassTransit-sent ones side by side.
/// </summary>
public sealed class AutoJobDecoder : IJobDecoder
{
    public static AutoJobDecoder Instance { get; } = new();

    public bool TryDecode(ReadOnlySpan<byte> body, out Job? job, out string? error) =>
        IsEnvelope(body)
            ? MassTransitEnvelopeDecoder.Instance.TryDecode(body, out job, out error)
            : JsonJobDecoder.Instance.TryDecode(body, out job, out error);

    /// <summary>
    /// True when the body is a JSON object with a top-level <c>messageType</c>, or with a top-level <c>message</c> and
    /// no job field (a plain job with a stray "message" keeps the plain decoder's "unknown property" error).
    /// Reads only the top level, skipping values; malformed JSON is left to the plain decoder.
    /// </summary>
    public static bool IsEnvelope(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return false;
        }

        bool message = false, jobField = false;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("messageType"u8))
                {
                    return true;
                }

                if (reader.ValueTextEquals("message"u8))
                {
                    message = true;
                }
                else if (reader.ValueTextEquals("source"u8) || reader.ValueTextEquals("jobId"u8) || reader.ValueTextEquals("destination"u8)
                    || reader.ValueTextEquals("output"u8) || reader.ValueTextEquals("background"u8))
                {
                    jobField = true;
                }

                if (!reader.Read() || !reader.TrySkip())
                {
                    break;
                }
            }
        }
        catch (JsonException)
        {
            // Whatever was seen before the bad token still decides; the chosen decoder reports the error.
        }

        return message && !jobField;
    }
}
