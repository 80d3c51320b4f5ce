using System.Text.Json.Serialization;
using Pipeline.Core.Invocation;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Events;

/// <summary>
/// Source-generated System.Text.Json metadata for every payload the function reads or writes, so nothing is
/// serialized by reflection and the published (trimmed, ReadyToRun) binary keeps working. Stands in for
/// <c>Amazon.Lambda.Serialization.SystemTextJson.SourceGeneratorLambdaJsonSerializer</c> (package
/// Amazon.Lambda.Serialization.SystemTextJson). The response type is Pipeline.Core's
/// <see cref="BatchItemFailuresResponse"/>, which stands in for <c>SQSBatchResponse</c> (Amazon.Lambda.SQSEvents)
/// and <c>StreamsEventResponse</c> (Amazon.Lambda.KinesisEvents): both are
/// <c>{"batchItemFailures":[{"itemIdentifier":"..."}]}</c>.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(KinesisEvent))]
[JsonSerializable(typeof(BatchItemFailuresResponse))]
[JsonSerializable(typeof(RuntimeErrorBody))]
public sealed partial class LambdaJsonContext : JsonSerializerContext;
