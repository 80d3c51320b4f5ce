using System.Text.Json.Serialization;

namespace Pipeline.Core.Invocation;

/// <summary>The partial batch response of Lambda: <c>{"batchItemFailures":[{"itemIdentifier":"..."}]}</c>.</summary>
public sealed record BatchItemFailuresResponse(
    [property: JsonPropertyName("batchItemFailures")] IReadOnlyList<BatchItemFailure> BatchItemFailures)
{
    public static BatchItemFailuresResponse From(IEnumerable<ItemResult> results) =>
        new(results.Where(r => r.IsFailure).Select(r => new BatchItemFailure(r.Record.Id)).ToArray());
}

public sealed record BatchItemFailure([property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);
