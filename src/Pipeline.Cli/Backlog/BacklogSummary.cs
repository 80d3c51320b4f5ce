using System.Text.Json.Serialization;

namespace Pipeline.Cli.Backlog;

/// <summary>What <c>bgpipe backlog --json</c> writes; the keys are part of the command's contract.</summary>
internal sealed record BacklogSummary(
    [property: JsonPropertyName("done")] long Done,
    [property: JsonPropertyName("skipped")] long Skipped,
    [property: JsonPropertyName("deadLettered")] long DeadLettered,
    [property: JsonPropertyName("elapsedSeconds")] double ElapsedSeconds,
    [property: JsonPropertyName("imagesPerSecond")] double ImagesPerSecond,
    [property: JsonPropertyName("ignored")] long Ignored,
    [property: JsonPropertyName("deadLetters")] IReadOnlyList<DeadLetterEntry> DeadLetters);

/// <summary>One line of <c>dead-letters.jsonl</c>.</summary>
internal sealed record DeadLetterEntry(
    [property: JsonPropertyName("job")] string Job,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("receiveCount")] int ReceiveCount);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(BacklogSummary))]
internal sealed partial class BacklogJson : JsonSerializerContext;

[JsonSerializable(typeof(DeadLetterEntry))]
internal sealed partial class DeadLetterJson : JsonSerializerContext;
