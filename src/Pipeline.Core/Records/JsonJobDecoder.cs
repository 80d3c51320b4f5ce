using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pipeline.Core.Records;

/// <summary>
/// Decodes the plain job message <c>{"jobId"?, "source", "destination"?, "output"?, "background"?}</c>
/// (camelCase, as in ARCHITECTURE.md). Strict: unknown properties and wrong types are errors, because a typo such
/// as "sorce" would otherwise turn into a confusing downstream failure.
/// </summary>
public sealed class JsonJobDecoder : IJobDecoder
{
    public static JsonJobDecoder Instance { get; } = new();

    private const int MaxJobIdLength = 512;

    public bool TryDecode(ReadOnlySpan<byte> body, out Job? job, out string? error)
    {
        job = null;
        if (body.IsEmpty)
        {
            error = "message body is empty; expected a JSON job such as {\"source\":\"...\"}";
            return false;
        }

        string? jobId = null, source = null, destination = null, output = null, background = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"message body is not a JSON object (starts with {Describe(reader.TokenType)})";
                return false;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                // Only property names can appear here in a well-formed object.
                string name = reader.GetString()!;
                if (!reader.Read())
                {
                    error = $"message body ends inside property '{name}'";
                    return false;
                }

                ref string? slot = ref Slot(name, ref jobId, ref source, ref destination, ref output, ref background, out bool known);
                if (!known)
                {
                    error = $"unknown property '{name}' in job (expected jobId, source, destination, output, background)";
                    return false;
                }

                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.String)
                {
                    error = $"property '{name}' must be a string (got {Describe(reader.TokenType)})";
                    return false;
                }

                slot = reader.GetString();
            }

            // Reject trailing content such as two concatenated objects.
            if (reader.Read())
            {
                error = "message body has content after the JSON object";
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = $"message body is not valid JSON: {ex.Message}";
            return false;
        }

        return TryCreate(jobId, source, destination, output, background, out job, out error);
    }

    /// <summary>Validates the fields of a job however it arrived, and computes its key.</summary>
    public static bool TryCreate(string? jobId, string? source, string? destination, string? output, string? background, out Job? job, out string? error)
    {
        job = null;
        if (string.IsNullOrWhiteSpace(source))
        {
            error = "job is missing required property 'source'";
            return false;
        }

        if (jobId is not null && (jobId.Length == 0 || jobId.Length > MaxJobIdLength))
        {
            error = $"'jobId' must be 1 to {MaxJobIdLength} characters (got {jobId.Length})";
            return false;
        }

        OutputKind kind = OutputKind.Cutout;
        if (output is not null)
        {
            if (string.Equals(output, "cutout", StringComparison.OrdinalIgnoreCase))
            {
                kind = OutputKind.Cutout;
            }
            else if (string.Equals(output, "mask", StringComparison.OrdinalIgnoreCase))
            {
                kind = OutputKind.Mask;
            }
            else
            {
                error = $"'output' must be 'cutout' or 'mask' (got '{output}')";
                return false;
            }
        }

        if (background is not null && !IsHexColour(background))
        {
            error = $"'background' must be a colour as #RRGGBB (got '{background}')";
            return false;
        }

        if (destination is not null && destination.Length == 0)
        {
            error = "'destination' must not be empty when given";
            return false;
        }

        string key = jobId ?? HashKey(source, destination, kind, background);
        job = new Job { JobId = jobId, Source = source, Destination = destination, Output = kind, Background = background, Key = key };
        error = null;
        return true;
    }

    /// <summary>True for a colour written as #RRGGBB.</summary>
    public static bool IsHexColour(string s)
    {
        if (s.Length != 7 || s[0] != '#')
        {
            return false;
        }

        for (int i = 1; i < 7; i++)
        {
            if (!char.IsAsciiHexDigit(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string HashKey(string source, string? destination, OutputKind kind, string? background)
    {
        string canonical = $"{source}\n{destination}\n{kind}\n{background?.ToUpperInvariant()}";
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(canonical), hash);
        return "job-" + Convert.ToHexStringLower(hash[..16]);
    }

    private static ref string? Slot(string name, ref string? jobId, ref string? source, ref string? destination, ref string? output, ref string? background, out bool known)
    {
        known = true;
        switch (name)
        {
            case "jobId": return ref jobId;
            case "source": return ref source;
            case "destination": return ref destination;
            case "output": return ref output;
            case "background": return ref background;
            default:
                known = false;
                return ref jobId;
        }
    }

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.None => "nothing",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        _ => t.ToString(),
    };
}
