using System.Text.Json;
using Pipeline.Core.Invocation;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.Handlers;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Hosting;

/// <summary>
/// The raw handler: event bytes in, response bytes out. Tells SQS from Kinesis by the first record's
/// <c>eventSource</c> and hands the typed event to its handler; anything else is an <see cref="UnsupportedEventException"/>
/// naming the source, which the loop reports as an invocation error.
/// </summary>
public sealed class LambdaFunction(SqsHandler sqs, KinesisHandler kinesis)
{
    public async Task<byte[]> HandleAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string source = EventSources.Detect(request.Payload.Span);
        BatchItemFailuresResponse response = source switch
        {
            EventSources.Sqs => await sqs.HandleAsync(Deserialize(request, LambdaJsonContext.Default.SqsEvent), request.Deadline, cancellationToken).ConfigureAwait(false),
            EventSources.Kinesis => await kinesis.HandleAsync(Deserialize(request, LambdaJsonContext.Default.KinesisEvent), request.Deadline, cancellationToken).ConfigureAwait(false),
            _ => throw new UnsupportedEventException($"eventSource '{source}' is not handled; this function handles {EventSources.Sqs} and {EventSources.Kinesis} events"),
        };
        return JsonSerializer.SerializeToUtf8Bytes(response, LambdaJsonContext.Default.BatchItemFailuresResponse);
    }

    private static T Deserialize<T>(InvocationRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(request.Payload.Span, type)
                ?? throw new InvalidEventException($"the {typeof(T).Name} of request {request.RequestId} is null");
        }
        catch (JsonException ex)
        {
            throw new InvalidEventException($"the {typeof(T).Name} of request {request.RequestId} does not match its contract: {ex.Message}", ex);
        }
    }
}
