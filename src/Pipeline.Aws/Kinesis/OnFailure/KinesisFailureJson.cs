using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Aws.Kinesis.OnFailure;

/// <summary>Source-generated serialization of the on-failure record (no reflection).</summary>
[JsonSerializable(typeof(KinesisFailureRecord))]
public sealed partial class KinesisFailureJson : JsonSerializerContext
{
    public static string Serialize(KinesisFailureRecord record) => JsonSerializer.Serialize(record, Default.KinesisFailureRecord);

    public static KinesisFailureRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, Default.KinesisFailureRecord)
        ?? throw new JsonException("The on-failure record is the JSON literal null.");
}

/// <summary>AWS writes these times in UTC with milliseconds: <c>2019-11-14T00:38:06.021Z</c>.</summary>
internal sealed class UtcMillisecondsConverter : JsonConverter<DateTimeOffset>
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string text = reader.GetString() ?? throw new JsonException("A timestamp is null.");
        return DateTimeOffset.TryParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset value)
            ? value
            : throw new JsonException($"Timestamp '{text}' is not in the form {Format}.");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
    }
}
