using System.Text.Json;
using Pipeline.Core.Records;

namespace Pipeline.Cli.Backlog;

/// <summary>The job message a backlog enqueues: <c>{"source", "destination"?, "output", "background"?}</c>, no jobId (its key is the hash).</summary>
internal static class JobBodies
{
    public static byte[] Encode(string source, string? destination, OutputKind output, string? background)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("source", source);
            if (destination is not null)
            {
                writer.WriteString("destination", destination);
            }

            writer.WriteString("output", output == OutputKind.Mask ? "mask" : "cutout");
            if (background is not null)
            {
                writer.WriteString("background", background);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
