using Microsoft.Extensions.Logging;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Lambda.Handlers;

/// <summary>
/// What both handlers share: decode each record with the <see cref="IJobDecoder"/> seam, run the batch through
/// Pipeline.Core's <see cref="BatchInvoker"/> (idempotency guard + function, with the claim heartbeat alongside), gate
/// every record on the deadline, and turn the per-item results into <c>batchItemFailures</c>.
/// </summary>
public sealed class BatchHandler
{
    /// <summary>
    /// In-process retries inside Lambda: two, at most 1 s apart, so a retry delay never eats the deadline margin
    /// (2 s at least); what outlives them goes back to the event source mapping.
    /// </summary>
    public static InvokerOptions LambdaInvokerOptions { get; } = new()
    {
        RetryAttempts = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(200),
        RetryMaxDelay = TimeSpan.FromSeconds(1),
    };

    private readonly DeadlineGatedFunction _function;
    private readonly BatchInvoker _invoker;
    private readonly IJobDecoder _decoder;
    private readonly DeadlineOptions _deadline;
    private readonly TimeProvider _time;

    public BatchHandler(
        IJobFunction function,
        IdempotencyGuard guard,
        IJobDecoder decoder,
        InvokerOptions invoker,
        BatchingOptions batching,
        DeadlineOptions deadline,
        TimeProvider time,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(deadline);
        _function = new DeadlineGatedFunction(function, time);
        _decoder = decoder;
        _deadline = deadline.Validate();
        _time = time;
        _invoker = new BatchInvoker(_function, guard, NoOpAcknowledger.Instance, invoker, batching, time, Statistics, logger);
    }

    /// <summary>Counts of what this handler did since the environment started (logged, and read by tests).</summary>
    public MappingStatistics Statistics { get; } = new();

    /// <summary>Decodes a body; an undecodable one travels on as invalid so the invoker reports it as a failure.</summary>
    public DecodedRecord Decode(SourceRecord record, string laneKey)
    {
        ArgumentNullException.ThrowIfNull(record);
        return _decoder.TryDecode(record.Body.Span, out Job? job, out string? error)
            ? DecodedRecord.Valid(record, job!, laneKey)
            : DecodedRecord.Invalid(record, error ?? "undecodable job", laneKey);
    }

    /// <summary>Runs the batch; never throws for a record's failure, only for cancellation.</summary>
    public async Task<IReadOnlyList<ItemResult>> RunAsync(IReadOnlyList<DecodedRecord> items, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return [];
        }

        long payload = 0;
        foreach (DecodedRecord item in items)
        {
            payload += item.Record.PayloadBytes;
        }

        _function.Begin(deadline, _deadline.MarginFor(deadline - _time.GetUtcNow()));
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task heartbeat = _invoker.RunHeartbeatAsync(heartbeatStop.Token);
        try
        {
            return await _invoker.InvokeAsync(new Batch(0, items, payload, BatchCutReason.NoWindow), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _function.End();
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
