using System.Text.Json;

namespace Pipeline.Core.Records;

/// <summary>
/// Decodes MassTransit's JSON envelope (content type <c>application/vnd.masstransit+json</c>) around a
/// <c>RemoveBackground</c> message: <c>{"messageId", "messageType": ["urn:message:&lt;Namespace&gt;:RemoveBackground"], "message": {...}, ...}</c>.
/// The envelope's other fields (addresses, headers, host, sentTime) are ignored; <c>message</c> is the job and is
/// held to exactly the rules of <see cref="JsonJobDecoder"/>, so a job reads the same whichever way it arrived.
/// No MassTransit dependency: the Lambda function reads envelopes without carrying the bus.
/// </summary>
/// <remarks>
/// MassTransit's <c>messageId</c> only appears in error messages, to find the message in the sender's logs; the record's
/// own id (the SQS message id) stays the item identifier, and the job's key comes from the job as always.
/// </remarks>
public sealed class MassTransitEnvelopeDecoder : IJobDecoder
{
    /// <summary>The message type name the envelope must carry (any namespace): <c>urn:message:*:RemoveBackground</c>.</summary>
    public const string MessageTypeName = "RemoveBackground";

    private const string MessageTypeSuffix = ":" + MessageTypeName;

    public static MassTransitEnvelopeDecoder Instance { get; } = new();

    public bool TryDecode(ReadOnlySpan<byte> body, out Job? job, out string? error)
    {
        job = null;
        if (body.IsEmpty)
        {
            error = "MassTransit envelope is empty";
            return false;
        }

        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
            document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                error = "MassTransit envelope has content after the JSON object";
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = $"MassTransit envelope is not valid JSON: {ex.Message}";
            return false;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"MassTransit envelope is not a JSON object (got {Describe(root.ValueKind)})";
                return false;
            }

            string where = MessageIdSuffix(root);
            if (!TryCheckMessageType(root, where, out error))
            {
                return false;
            }

            if (!root.TryGetProperty("message", out JsonElement message) || message.ValueKind == JsonValueKind.Null)
            {
                error = $"MassTransit envelope{where} has no 'message' object";
                return false;
            }

            if (message.ValueKind != JsonValueKind.Object)
            {
                error = $"MassTransit envelope{where}: 'message' must be a JSON object (got {Describe(message.ValueKind)})";
                return false;
            }

            // The same strict decoder as a plain job, on the message's own bytes.
            if (!JsonJobDecoder.Instance.TryDecode(System.Text.Encoding.UTF8.GetBytes(message.GetRawText()), out job, out string? jobError))
            {
                error = $"MassTransit {MessageTypeName} message{where}: {jobError}";
                return false;
            }

            error = null;
            return true;
        }
    }

    private static bool TryCheckMessageType(JsonElement root, string where, out string? error)
    {
        if (!root.TryGetProperty("messageType", out JsonElement types) || types.ValueKind == JsonValueKind.Null)
        {
            error = $"MassTransit envelope{where} has no 'messageType'; expected [\"urn:message:<Namespace>:{MessageTypeName}\"]";
            return false;
        }

        if (types.ValueKind != JsonValueKind.Array)
        {
            error = $"MassTransit envelope{where}: 'messageType' must be an array of URNs (got {Describe(types.ValueKind)})";
            return false;
        }

        var seen = new List<string>();
        foreach (JsonElement type in types.EnumerateArray())
        {
            if (type.ValueKind != JsonValueKind.String)
            {
                error = $"MassTransit envelope{where}: 'messageType' must hold strings (got {Describe(type.ValueKind)})";
                return false;
            }

            string urn = type.GetString()!;
            if (urn.EndsWith(MessageTypeSuffix, StringComparison.Ordinal))
            {
                error = null;
                return true;
            }

            seen.Add(urn);
        }

        error = seen.Count == 0
            ? $"MassTransit envelope{where} has an empty 'messageType'; expected [\"urn:message:<Namespace>:{MessageTypeName}\"]"
            : $"MassTransit envelope{where} carries message type {string.Join(", ", seen.Select(s => $"'{s}'"))}, not {MessageTypeName}; this pipeline only runs {MessageTypeName} jobs";
        return false;
    }

    private static string MessageIdSuffix(JsonElement root) =>
        root.TryGetProperty("messageId", out JsonElement id) && id.ValueKind == JsonValueKind.String
            ? $" (messageId {id.GetString()})"
            : string.Empty;

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        _ => kind.ToString(),
    };
}
