using System.Text.Json.Serialization;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Streams;

namespace Pipeline.Aws.Kinesis.OnFailure;

/// <summary>
/// The invocation record the Kinesis ESM sends to <c>DestinationConfig.OnFailure</c> when it discards a batch
/// (AWS docs: kinesis-on-failure-destination). Property order and JSON names follow AWS's example exactly.
/// </summary>
public sealed record KinesisFailureRecord
{
    /// <summary>The only record version AWS documents.</summary>
    public const string CurrentVersion = "1.0";

    [JsonPropertyName("requestContext")]
    public required KinesisFailureRequestContext RequestContext { get; init; }

    [JsonPropertyName("responseContext")]
    public required KinesisFailureResponseContext ResponseContext { get; init; }

    [JsonPropertyName("version")]
    public string Version { get; init; } = CurrentVersion;

    /// <summary>When the batch was discarded; written as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
    [JsonPropertyName("timestamp")]
    [JsonConverter(typeof(UtcMillisecondsConverter))]
    public required DateTimeOffset Timestamp { get; init; }

    [JsonPropertyName("KinesisBatchInfo")]
    public required KinesisBatchInfo KinesisBatchInfo { get; init; }

    /// <summary>
    /// Describes a discarded batch. <paramref name="batch"/> holds the batch's records in shard order
    /// (<see cref="SourceRecord.Id"/> = sequence number, <see cref="SourceRecord.SentAt"/> = approximate arrival);
    /// <paramref name="condition"/> is <see cref="FailedBatchDecision.RetryAttemptsExhausted"/> or
    /// <see cref="FailedBatchDecision.RecordAgeExceeded"/>; <paramref name="function"/> is the function's ARN (or a
    /// local name); <paramref name="response"/> is how the last invocation ended.
    /// </summary>
    public static KinesisFailureRecord Create(
        string streamArn,
        string shardId,
        IReadOnlyList<SourceRecord> batch,
        string condition,
        int approximateInvokeCount,
        string function,
        KinesisFailureResponseContext response,
        Guid requestId,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(time);
        Require(streamArn, nameof(streamArn), "the stream ARN");
        Require(shardId, nameof(shardId), "the shard id");
        Require(function, nameof(function), "the function ARN or name");
        if (condition is not (FailedBatchDecision.RetryAttemptsExhausted or FailedBatchDecision.RecordAgeExceeded))
        {
            throw new ArgumentException(
                $"condition '{condition}' is not one the Kinesis ESM reports; expected {FailedBatchDecision.RetryAttemptsExhausted} or {FailedBatchDecision.RecordAgeExceeded}.",
                nameof(condition));
        }

        if (approximateInvokeCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(approximateInvokeCount), approximateInvokeCount, "A discarded batch was invoked at least once; approximateInvokeCount must be 1 or more.");
        }

        if (batch.Count == 0)
        {
            throw new ArgumentException($"An on-failure record describes a discarded batch, but the batch from {shardId} of {streamArn} is empty.", nameof(batch));
        }

        for (int i = 0; i < batch.Count; i++)
        {
            SourceRecord record = batch[i] ?? throw new ArgumentException($"Record {i} of the batch is null.", nameof(batch));
            if (!SequenceNumbers.IsValid(record.Id))
            {
                throw new ArgumentException($"Record {i} of the batch has Id '{record.Id}', which is not a Kinesis sequence number.", nameof(batch));
            }

            if (record.SentAt is null)
            {
                throw new ArgumentException($"Record {record.Id} has no approximate arrival time (SentAt); a Kinesis record always has one.", nameof(batch));
            }

            if (i > 0 && SequenceNumbers.Compare(batch[i - 1].Id, record.Id) >= 0)
            {
                throw new ArgumentException($"The batch is not in shard order: record {record.Id} follows {batch[i - 1].Id}.", nameof(batch));
            }
        }

        return new KinesisFailureRecord
        {
            RequestContext = new KinesisFailureRequestContext(requestId.ToString("D"), function, condition, approximateInvokeCount),
            ResponseContext = response,
            Timestamp = time.GetUtcNow(),
            KinesisBatchInfo = new KinesisBatchInfo(
                shardId,
                batch[0].Id,
                batch[^1].Id,
                batch[0].SentAt!.Value,
                batch[^1].SentAt!.Value,
                batch.Count,
                streamArn),
        };
    }

    private static void Require(string? value, string parameter, string what)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"An on-failure record needs {what}; got an empty value.", parameter);
        }
    }
}

/// <summary>Which invocation gave up, and why (<c>condition</c>: RetryAttemptsExhausted or RecordAgeExceeded).</summary>
public sealed record KinesisFailureRequestContext(
    [property: JsonPropertyName("requestId")] string RequestId,
    [property: JsonPropertyName("functionArn")] string FunctionArn,
    [property: JsonPropertyName("condition")] string Condition,
    [property: JsonPropertyName("approximateInvokeCount")] int ApproximateInvokeCount);

/// <summary>
/// How the last invocation ended: the invoke's HTTP status, the version that ran (<c>$LATEST</c> by default) and the
/// function error kind (<c>Unhandled</c>, <c>Handled</c>), or null when the function returned a partial failure.
/// </summary>
public sealed record KinesisFailureResponseContext(
    [property: JsonPropertyName("statusCode")] int StatusCode,
    [property: JsonPropertyName("executedVersion")] string ExecutedVersion,
    [property: JsonPropertyName("functionError")] string? FunctionError)
{
    public const string LatestVersion = "$LATEST";
    public const string Unhandled = "Unhandled";
}

/// <summary>The discarded batch: its shard, first and last sequence numbers and arrivals, size and stream.</summary>
public sealed record KinesisBatchInfo(
    [property: JsonPropertyName("shardId")] string ShardId,
    [property: JsonPropertyName("startSequenceNumber")] string StartSequenceNumber,
    [property: JsonPropertyName("endSequenceNumber")] string EndSequenceNumber,
    [property: JsonPropertyName("approximateArrivalOfFirstRecord"), JsonConverter(typeof(UtcMillisecondsConverter))] DateTimeOffset ApproximateArrivalOfFirstRecord,
    [property: JsonPropertyName("approximateArrivalOfLastRecord"), JsonConverter(typeof(UtcMillisecondsConverter))] DateTimeOffset ApproximateArrivalOfLastRecord,
    [property: JsonPropertyName("batchSize")] int BatchSize,
    [property: JsonPropertyName("streamArn")] string StreamArn);
