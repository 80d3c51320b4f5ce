using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Client.Messages;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.MassTransit;

/// <summary>What became of one <see cref="RemoveBackground"/> message.</summary>
/// <param name="JobKey">The job's key (jobId, or the hash of what it asks for).</param>
/// <param name="Outcome"><see cref="ItemOutcome.Succeeded"/> or <see cref="ItemOutcome.Skipped"/> (a duplicate of a completed job).</param>
/// <param name="ResultLocation">Where the PNG was written (now, or by the earlier run a duplicate repeats).</param>
public readonly record struct RemovalOutcome(string JobKey, ItemOutcome Outcome, string? ResultLocation);

/// <summary>
/// Runs one message the way the pollers run a record: as a batch of one through Pipeline.Core's
/// <see cref="BatchInvoker"/>, so the same idempotency guard claims the job (a duplicate is skipped), a heartbeat renews
/// the claim while the model works, Polly retries transient failures in process, and the outcome is recorded.
/// Thread-safe: a <see cref="BatchInvoker"/> runs one batch at a time, so each message gets its own (cheap next to
/// the model) while the function, guard and statistics are shared.
/// </summary>
public sealed partial class BackgroundRemovalRunner
{
    private static readonly JsonSerializerOptions BodyJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly IJobFunction _function;
    private readonly IdempotencyGuard _guard;
    private readonly InvokerOptions _invoker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BatchingOptions _batching = BatchingOptions.ForSqs(batchSize: 1);

    public BackgroundRemovalRunner(IJobFunction function, IdempotencyGuard guard, InvokerOptions invoker, TimeProvider time, ILogger<BackgroundRemovalRunner> logger)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(guard);
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _function = function;
        _guard = guard;
        _invoker = invoker.Validate(TimeSpan.Zero);
        _time = time;
        _logger = logger;
    }

    /// <summary>Counts of what this runner did (batches, invocations, outcomes), as a mapping keeps them.</summary>
    public MappingStatistics Statistics { get; } = new();

    /// <summary>
    /// Runs the job. Returns on success or a duplicate; throws <see cref="BackgroundRemovalFailedException"/> for a
    /// permanent failure and <see cref="BackgroundRemovalRetryException"/> for one worth retrying.
    /// </summary>
    /// <param name="messageId">The transport's message id, for logs and the item identifier.</param>
    /// <param name="source">Where the message came from (the receive endpoint's address), for the record's source.</param>
    /// <param name="receiveCount">1 on the first attempt; MassTransit's retry attempt and redelivery count add to it.</param>
    public async Task<RemovalOutcome> RunAsync(RemoveBackground message, string messageId, string source, int receiveCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var record = new SourceRecord
        {
            Id = messageId,
            Body = JsonSerializer.SerializeToUtf8Bytes(message, BodyJson),
            Source = source,
            ReceiveCount = Math.Max(1, receiveCount),
        };

        // The same validation a polled record gets; an invalid job still goes through the invoker, which fails it.
        DecodedRecord item = JsonJobDecoder.TryCreate(message.JobId, message.Source, message.Destination, OutputName(message.Output), message.Background, out Job? job, out string? error)
            ? DecodedRecord.Valid(record, job!, job!.Key)
            : DecodedRecord.Invalid(record, error!, message.JobId ?? message.Source ?? messageId);
        string jobKey = job?.Key ?? item.LaneKey;

        var invoker = new BatchInvoker(_function, _guard, NoOpAcknowledger.Instance, _invoker, _batching, _time, Statistics, _logger);
        IReadOnlyList<ItemResult> results;
        using (var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            Task heartbeat = invoker.RunHeartbeatAsync(heartbeatStop.Token);
            try
            {
                results = await invoker.InvokeAsync(new Batch(0, [item], record.PayloadBytes, BatchCutReason.BatchSizeReached), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await heartbeatStop.CancelAsync().ConfigureAwait(false);
                await heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        ItemResult result = results[0];
        switch (result.Outcome)
        {
            case ItemOutcome.Succeeded:
            case ItemOutcome.Skipped:
                LogDone(_logger, messageId, jobKey, result.Outcome, result.ResultLocation);
                return new RemovalOutcome(jobKey, result.Outcome, result.ResultLocation);
            case ItemOutcome.PermanentFailure:
                throw new BackgroundRemovalFailedException(jobKey, result.Reason ?? "failed permanently");
            default:
                throw new BackgroundRemovalRetryException(jobKey, result.Reason ?? result.Outcome.ToString(), result.Delay);
        }
    }

    private static string? OutputName(RemoveBackgroundOutput? output) => output switch
    {
        null => null,
        RemoveBackgroundOutput.Cutout => "cutout",
        RemoveBackgroundOutput.Mask => "mask",
        _ => output.Value.ToString(),
    };

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "RemoveBackground {MessageId} (job {JobKey}): {Outcome}, result at {Location}")]
    private static partial void LogDone(ILogger logger, string messageId, string jobKey, ItemOutcome outcome, string? location);
}
