using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Core.Sources.Streams;

/// <summary>
/// A stream lane's invoker: runs each batch through a <see cref="BatchInvoker"/> (idempotency guard, function) and
/// applies the Kinesis ESM's failure rules until every record of the batch is finished. A failed batch blocks its lane
/// while it is retried, so the order of every partition key routed here holds; other lanes go on.
/// </summary>
/// <remarks>
/// Per invocation: the response is read by <see cref="StreamBatchRules.Interpret"/> (with ReportBatchItemFailures, the
/// records before the lowest failed one are done; without, any failure fails the whole batch). The failed rest is then
/// retried after a jittered backoff, bisected, or discarded by <see cref="StreamBatchRules.OnFailure"/>. A discarded
/// rest goes to the <see cref="IDiscardedBatchSink"/> (retried until delivered) before it counts as finished, so a
/// record is only ever checkpointed past once it succeeded, was a duplicate, or was described to the destination (or,
/// without one, logged as dropped). Finished records are reported through <c>onRecordFinished</c> in shard order within
/// the lane; <c>onInvocationEnd</c> runs after each invocation so the checkpoint is written at every batch end.
/// While stopping, a failed rest is neither retried nor discarded: it stays unfinished, and the next owner of the
/// shard replays it from the checkpoint.
/// </remarks>
public sealed partial class StreamBatchInvoker
{
    private readonly BatchInvoker _invoker;
    private readonly StreamFailureOptions _options;
    private readonly IDiscardedBatchSink? _sink;
    private readonly string _shardId;
    private readonly Action<SourceRecord> _onRecordFinished;
    private readonly Action _onInvocationEnd;
    private readonly TimeProvider _time;
    private readonly MappingStatistics _stats;
    private readonly ILogger _logger;
    /// <summary>How often a backoff looks at the stop signal (the longest a graceful stop waits on a retrying lane).</summary>
    private static readonly TimeSpan StopCheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<string?> _failed = [];
    private readonly List<string> _sequenceNumbers = [];

    /// <param name="invoker">Runs one batch through the guard and the function (one per lane: it is not thread-safe).</param>
    /// <param name="options">Validated on construction.</param>
    /// <param name="sink">The on-failure destination; null drops discarded records with an error log.</param>
    /// <param name="shardId">The shard every batch of this lane comes from.</param>
    /// <param name="onRecordFinished">Called once per record when it is done with (the checkpoint tracker's Complete).</param>
    /// <param name="onInvocationEnd">Called after each invocation's records are reported (asks for a checkpoint write).</param>
    public StreamBatchInvoker(
        BatchInvoker invoker,
        StreamFailureOptions options,
        IDiscardedBatchSink? sink,
        string shardId,
        Action<SourceRecord> onRecordFinished,
        Action onInvocationEnd,
        TimeProvider timeProvider,
        MappingStatistics statistics,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(shardId);
        ArgumentNullException.ThrowIfNull(onRecordFinished);
        ArgumentNullException.ThrowIfNull(onInvocationEnd);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(logger);
        _invoker = invoker;
        _options = options.Validate();
        _sink = sink;
        _shardId = shardId;
        _onRecordFinished = onRecordFinished;
        _onInvocationEnd = onInvocationEnd;
        _time = timeProvider;
        _stats = statistics;
        _logger = logger;
    }

    /// <summary>
    /// Runs batches until <paramref name="batches"/> completes. Once <paramref name="isStopping"/> says so, batches not
    /// yet started are left unfinished (the checkpoint stays below them); the invocation in progress completes.
    /// </summary>
    public async Task RunAsync(ChannelReader<Batch> batches, Func<bool> isStopping, Action<int> onFinished, CancellationToken abort)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(isStopping);
        ArgumentNullException.ThrowIfNull(onFinished);
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        Task heartbeat = _invoker.RunHeartbeatAsync(heartbeatStop.Token);
        try
        {
            await foreach (Batch batch in batches.ReadAllAsync(abort).ConfigureAwait(false))
            {
                try
                {
                    if (isStopping())
                    {
                        _stats.AddReleased(batch.Count);
                        continue;
                    }

                    await ProcessAsync(batch, isStopping, abort).ConfigureAwait(false);
                }
                finally
                {
                    onFinished(batch.Count);
                }
            }
        }
        finally
        {
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Runs one batch until every record is finished (or the mapping stops). Public for tests.</summary>
    public async Task ProcessAsync(Batch batch, Func<bool> isStopping, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var pending = new Stack<Segment>();
        pending.Push(new Segment(batch.Items, Retries: 0, Invocations: 0));
        while (pending.TryPop(out Segment segment))
        {
            if (segment.Invocations > 0 && isStopping())
            {
                LogLeftForNextOwner(_logger, _shardId, segment.Items.Count, segment.Items[0].Record.Id);
                _stats.AddReleased(segment.Items.Count + pending.Sum(s => s.Items.Count));
                return;
            }

            IReadOnlyList<ItemResult> results = await _invoker.InvokeAsync(Slice(batch, segment.Items), cancellationToken).ConfigureAwait(false);
            int invocations = segment.Invocations + 1;
            BatchVerdict verdict = Read(segment.Items, results, out string? lastError);
            if (verdict.Kind == BatchVerdictKind.Success)
            {
                Finish(segment.Items, 0, segment.Items.Count);
                _onInvocationEnd();
                continue;
            }

            int from = verdict.Kind == BatchVerdictKind.PartialFailure ? IndexOf(segment.Items, verdict.RetryFrom!) : 0;
            Finish(segment.Items, 0, from);
            IReadOnlyList<DecodedRecord> rest = from == 0 ? segment.Items : [.. segment.Items.Skip(from)];
            if (WaitingForOtherOwner(segment.Items, results, from) is { } wait)
            {
                // The function did not fail: another host (the shard's previous owner) still holds the job's claim. Wait
                // for that claim to end without spending a retry or bisecting, or a failover would discard live work.
                LogWaitingForOwner(_logger, _shardId, rest[0].Record.Id, wait.TotalMilliseconds);
                _onInvocationEnd();
                await WaitUnlessStoppingAsync(wait, isStopping, cancellationToken).ConfigureAwait(false);
                pending.Push(new Segment(rest, segment.Retries, invocations));
                continue;
            }

            FailedBatchDecision decision = StreamBatchRules.OnFailure(
                segment.Retries, rest.Count, OldestAge(rest), _options.MaximumRetryAttempts, _options.MaximumRecordAge, _options.BisectBatchOnFunctionError);
            switch (decision.Action)
            {
                case FailedBatchAction.Bisect:
                    (IReadOnlyList<DecodedRecord> first, IReadOnlyList<DecodedRecord> second) = StreamBatchRules.Bisect(rest);
                    LogBisect(_logger, _shardId, rest.Count, first.Count, second.Count, lastError);
                    pending.Push(new Segment(second, segment.Retries, invocations));
                    pending.Push(new Segment(first, segment.Retries, invocations));
                    break;
                case FailedBatchAction.Retry:
                    TimeSpan delay = Backoff(segment.Retries + 1);
                    LogRetry(_logger, _shardId, rest.Count, rest[0].Record.Id, segment.Retries + 1, delay.TotalMilliseconds, lastError);
                    _onInvocationEnd();
                    await WaitUnlessStoppingAsync(delay, isStopping, cancellationToken).ConfigureAwait(false);
                    pending.Push(new Segment(rest, segment.Retries + 1, invocations));
                    continue;
                default:
                    bool delivered = await DiscardAsync(
                        new DiscardedBatch(_shardId, Records(rest), decision.Condition!, invocations, lastError, verdict.Kind == BatchVerdictKind.PartialFailure),
                        isStopping,
                        cancellationToken).ConfigureAwait(false);
                    if (!delivered)
                    {
                        _stats.AddReleased(rest.Count + pending.Sum(s => s.Items.Count));
                        return;
                    }

                    Finish(rest, 0, rest.Count);
                    break;
            }

            _onInvocationEnd();
        }
    }

    /// <summary>
    /// The wait when every failure from <paramref name="from"/> on is a claim held elsewhere (or a record left unstarted
    /// behind one); null when the function failed.
    /// </summary>
    private TimeSpan? WaitingForOtherOwner(IReadOnlyList<DecodedRecord> items, IReadOnlyList<ItemResult> results, int from)
    {
        TimeSpan? wait = null;
        for (int i = from; i < items.Count; i++)
        {
            ItemResult result = results[i];
            switch (result.Outcome)
            {
                case ItemOutcome.Deferred:
                    TimeSpan delay = result.Delay > TimeSpan.Zero ? result.Delay : _options.RetryBaseDelay;
                    wait = wait is { } w && w < delay ? w : delay;
                    break;
                case ItemOutcome.Retry or ItemOutcome.PermanentFailure:
                    return null;
            }
        }

        return wait is { } found && found > _options.RetryMaxDelay ? _options.RetryMaxDelay : wait;
    }

    private BatchVerdict Read(IReadOnlyList<DecodedRecord> items, IReadOnlyList<ItemResult> results, out string? lastError)
    {
        _failed.Clear();
        _sequenceNumbers.Clear();
        lastError = null;
        for (int i = 0; i < items.Count; i++)
        {
            _sequenceNumbers.Add(items[i].Record.Id);
            ItemResult result = results[i];
            if (result.IsFailure)
            {
                _failed.Add(result.Record.Id);
                if (lastError is null && result.Outcome != ItemOutcome.Released)
                {
                    lastError = $"record {result.Record.Id}: {result.Reason}";
                }
            }
        }

        if (_failed.Count == 0)
        {
            return BatchVerdict.Succeeded;
        }

        // Without ReportBatchItemFailures the function's answer is all or nothing: any failure fails the whole batch.
        return _options.ReportBatchItemFailures
            ? StreamBatchRules.Interpret(_sequenceNumbers, _failed)
            : new BatchVerdict(BatchVerdictKind.CompleteFailure, _sequenceNumbers[0], lastError);
    }

    /// <summary>Delivers <paramref name="discarded"/> (retrying until it works); false when the mapping stopped first.</summary>
    private async Task<bool> DiscardAsync(DiscardedBatch discarded, Func<bool> isStopping, CancellationToken cancellationToken)
    {
        string first = discarded.Records[0].Id;
        string last = discarded.Records[^1].Id;
        if (_sink is null)
        {
            LogDroppedWithoutDestination(_logger, _shardId, discarded.Records.Count, first, last, discarded.Condition, discarded.InvokeCount, discarded.LastError);
            _stats.AddDropped(discarded.Records.Count);
            return true;
        }

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await _sink.DeliverAsync(discarded, cancellationToken).ConfigureAwait(false);
                LogDiscarded(_logger, _shardId, discarded.Records.Count, first, last, discarded.Condition, discarded.InvokeCount, discarded.LastError);
                _stats.AddDropped(discarded.Records.Count);
                _stats.AddOnFailureDelivered(discarded.Records.Count);
                return true;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                TimeSpan delay = Backoff(attempt);
                LogDeliveryFailed(_logger, _shardId, discarded.Records.Count, first, last, attempt, delay.TotalMilliseconds, ex.Message, ex);
                if (isStopping())
                {
                    return false;
                }

                await WaitUnlessStoppingAsync(delay, isStopping, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Waits out a backoff, but ends it early once the mapping stops: a backoff may last RetryMaxDelay (30 s by
    /// default), and a graceful stop must not wait for a retry it will not make.
    /// </summary>
    private async Task WaitUnlessStoppingAsync(TimeSpan delay, Func<bool> isStopping, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        while (!isStopping())
        {
            TimeSpan left = delay - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(left < StopCheckInterval ? left : StopCheckInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Finish(IReadOnlyList<DecodedRecord> items, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            _onRecordFinished(items[i].Record);
        }

        _stats.AddDeleted(to - from);
    }

    private TimeSpan OldestAge(IReadOnlyList<DecodedRecord> items)
    {
        DateTimeOffset now = _time.GetUtcNow();
        TimeSpan oldest = TimeSpan.Zero;
        foreach (DecodedRecord item in items)
        {
            if (item.Record.SentAt is { } sent && now - sent > oldest)
            {
                oldest = now - sent;
            }
        }

        return oldest;
    }

    /// <summary>Equal jitter: half the bounded exponential delay, plus a random share of the other half.</summary>
    private TimeSpan Backoff(int retry)
    {
        double ceiling = Math.Min(
            _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30)),
            _options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

    private static Batch Slice(Batch batch, IReadOnlyList<DecodedRecord> items)
    {
        if (ReferenceEquals(items, batch.Items))
        {
            return batch;
        }

        long bytes = 0;
        foreach (DecodedRecord item in items)
        {
            bytes += item.Record.PayloadBytes;
        }

        return new Batch(batch.LaneId, items, bytes, batch.CutReason);
    }

    private static int IndexOf(IReadOnlyList<DecodedRecord> items, string sequenceNumber)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (string.Equals(items[i].Record.Id, sequenceNumber, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return 0;
    }

    private static SourceRecord[] Records(IReadOnlyList<DecodedRecord> items)
    {
        var records = new SourceRecord[items.Count];
        for (int i = 0; i < records.Length; i++)
        {
            records[i] = items[i].Record;
        }

        return records;
    }

    private readonly record struct Segment(IReadOnlyList<DecodedRecord> Items, int Retries, int Invocations);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Shard {ShardId}: {Count} record(s) from {SequenceNumber} failed; retry {Retry} in {DelayMs:0} ms. Last error: {Reason}")]
    private static partial void LogRetry(ILogger logger, string shardId, int count, string sequenceNumber, int retry, double delayMs, string? reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Shard {ShardId}: a failed batch of {Count} is bisected into {First} and {Second}. Last error: {Reason}")]
    private static partial void LogBisect(ILogger logger, string shardId, int count, int first, int second, string? reason);

    [LoggerMessage(EventId = 42, Level = LogLevel.Error, Message = "Shard {ShardId}: {Count} record(s) {First}..{Last} discarded ({Condition}, invoked {Invocations} time(s)) and described to the on-failure destination. Last error: {Reason}")]
    private static partial void LogDiscarded(ILogger logger, string shardId, int count, string first, string last, string condition, int invocations, string? reason);

    [LoggerMessage(EventId = 43, Level = LogLevel.Error, Message = "Shard {ShardId}: {Count} record(s) {First}..{Last} DROPPED ({Condition}, invoked {Invocations} time(s)); the mapping has no DestinationConfig.OnFailure, so this log line is their only trace. Last error: {Reason}")]
    private static partial void LogDroppedWithoutDestination(ILogger logger, string shardId, int count, string first, string last, string condition, int invocations, string? reason);

    [LoggerMessage(EventId = 44, Level = LogLevel.Error, Message = "Shard {ShardId}: the on-failure destination did not take the record of {Count} discarded record(s) {First}..{Last} (attempt {Attempt}); they stay unprocessed and are offered again in {DelayMs:0} ms: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string shardId, int count, string first, string last, int attempt, double delayMs, string reason, Exception exception);

    [LoggerMessage(EventId = 46, Level = LogLevel.Information, Message = "Shard {ShardId}: record {SequenceNumber} is claimed by another host (the shard's previous owner?); waiting {DelayMs:0} ms for its claim to end, without spending a retry")]
    private static partial void LogWaitingForOwner(ILogger logger, string shardId, string sequenceNumber, double delayMs);

    [LoggerMessage(EventId = 45, Level = LogLevel.Information, Message = "Shard {ShardId}: stopping; {Count} failed record(s) from {SequenceNumber} are left below the checkpoint for the shard's next owner")]
    private static partial void LogLeftForNextOwner(ILogger logger, string shardId, int count, string sequenceNumber);
}
