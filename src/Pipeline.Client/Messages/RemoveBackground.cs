using System.Text.Json.Serialization;

namespace Pipeline.Client.Messages;

/// <summary>
/// The MassTransit message contract for a background-removal job. A plain record with no MassTransit dependency:
/// serialized (camelCase, as MassTransit's System.Text.Json serializer writes it) its properties are exactly the job
/// message the pipeline decodes: <c>{"jobId"?, "source", "destination"?, "output"?, "background"?}</c>.
/// Its message type is <c>urn:message:Pipeline.Client.Messages:RemoveBackground</c>; the pipeline accepts the
/// envelope of any namespace whose type name is <c>RemoveBackground</c>.
/// </summary>
/// <param name="Source"><c>s3://bucket/key</c>, or in local mode a path under the input folder.</param>
public sealed record RemoveBackground(string Source)
{
    /// <summary>The job's identity (1–512 characters); when null the pipeline hashes source, destination and options.</summary>
    public string? JobId { get; init; }

    /// <summary>Where to write the PNG (<c>s3://</c> or a path under the output folder); null for the default beside the source.</summary>
    public string? Destination { get; init; }

    /// <summary>A transparent cut-out or the grey-scale mask; null means cut-out.</summary>
    public RemoveBackgroundOutput? Output { get; init; }

    /// <summary>Background colour as <c>#RRGGBB</c> to flatten the cut-out onto; null for transparency.</summary>
    public string? Background { get; init; }
}

/// <summary>
/// What the job writes. Serialized as the strings the pipeline reads (<c>"cutout"</c>, <c>"mask"</c>) whatever
/// converters the serializer's options carry, because the member names are fixed on the members.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<RemoveBackgroundOutput>))]
public enum RemoveBackgroundOutput
{
    [JsonStringEnumMemberName("cutout")]
    Cutout,

    [JsonStringEnumMemberName("mask")]
    Mask,
}
