using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Polly;

namespace Pipeline.Core.Invocation;

/// <summary>
/// A lane's invoker: runs its batches one at a time, each record inside the idempotency guard with Polly retries,
/// and returns per-item results (the shape of <c>batchItemFailures</c>) to the source's acknowledger.
/// A heartbeat renews the claims and the visibility of the running batch, so long work never lapses while its
/// owner lives, and a dead owner's claims lapse within one lease.
/// </summary>
public sealed partial class BatchInvoker
{
    private readonly IJobFunction _function;
    private readonly IdempotencyGuard _guard;
    private readonly IBatchAcknowledger _acknowledger;
    private readonly InvokerOptions _options;
    private readonly long _maxPayloadBytes;
    private readonly TimeProvider _time;
    private readonly MappingStatistics _stats;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly Random _random;
    private RunningBatch? _running;

    // A lane runs one batch at a time, so its invoker reuses these between batches instead of allocating.
    private readonly List<int> _claimIndex = [];
    private readonly List<(string Key, string MessageId, string? JobKey)> _claimKeys = [];
    private readonly List<int> _runnable = [];
    private readonly List<ClaimFinish> _finishes = [];

    public BatchInvoker(
        IJobFunction function,
        IdempotencyGuard guard,
        IBatchAcknowledger acknowledger,
        InvokerOptions options,
        BatchingOptions batching,
        TimeProvider timeProvider,
        MappingStatistics statistics,
        ILogger logger,
        Random? random = null)
    {
        _function = function;
        _guard = guard;
        _acknowledger = acknowledger;
        _options = options.Validate(acknowledger.VisibilityTimeout);
        _maxPayloadBytes = batching.MaxPayloadBytes;
        _time = timeProvider;
        _stats = statistics;
        _logger = logger;
        _random = random ?? Random.Shared;
        _retry = RecordRetry.Create(_options, acknowledger.VisibilityTimeout, timeProvider, logger);
    }

    /// <summary>
    /// Runs batches until <paramref name="batches"/> completes. Once <paramref name="isStopping"/> says so, batches not
    /// yet started are released to the source instead of run; the batch in progress always finishes.
    /// </summary>
    public async Task RunAsync(ChannelReader<Batch> batches, Func<bool> isStopping, Action<int> onFinished, CancellationToken abort)
    {
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        Task heartbeat = HeartbeatAsync(heartbeatStop.Token);
        try
        {
            await foreach (Batch batch in batches.ReadAllAsync(abort).ConfigureAwait(false))
            {
                try
                {
                    if (isStopping())
                    {
                        await ReleaseAsync(batch, abort).ConfigureAwait(false);
                        continue;
                    }

                    IReadOnlyList<ItemResult> results = await InvokeAsync(batch, abort).ConfigureAwait(false);
                    await AcknowledgeAsync(results, abort).ConfigureAwait(false);
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

    /// <summary>Runs one batch through the guard and the function; never throws for a record's failure.</summary>
    public async Task<IReadOnlyList<ItemResult>> InvokeAsync(Batch batch, CancellationToken cancellationToken)
    {
        _stats.AddBatch();
        IReadOnlyList<DecodedRecord> items = batch.Items;
        int n = items.Count;
        var results = new ItemResult[n];
        var keys = new string?[n];
        int[]? duplicateOf = null;
        List<int> claimIndex = _claimIndex;
        List<(string Key, string MessageId, string? JobKey)> claimKeys = _claimKeys;
        claimIndex.Clear();
        claimKeys.Clear();

        for (int i = 0; i < n; i++)
        {
            DecodedRecord item = items[i];
            SourceRecord record = item.Record;
            if (item.Job is not { } job)
            {
                results[i] = ItemResult.Permanent(record, $"invalid job: {item.Error}");
                LogPermanent(_logger, record.Id, results[i].Reason!);
                continue;
            }

            if (record.PayloadBytes > _maxPayloadBytes)
            {
                results[i] = ItemResult.Permanent(record, $"record of {record.Body.Length:N0} bytes exceeds the batch payload cap of {_maxPayloadBytes:N0} bytes");
                LogPermanent(_logger, record.Id, results[i].Reason!);
                continue;
            }

            string? identity;
            try
            {
                identity = await _function.GetSourceIdentityAsync(job, cancellationToken).ConfigureAwait(false);
            }
            catch (PermanentJobException ex)
            {
                results[i] = ItemResult.Permanent(record, ex.Message);
                LogPermanent(_logger, record.Id, ex.Message);
                continue;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                results[i] = RetryLater(record, $"could not read the source's identity: {Describe(ex)}");
                continue;
            }

            string key = identity is null ? job.Key : string.Concat(job.Key, "#", identity);
            keys[i] = key;
            int first = IndexOfKey(claimKeys, key);
            if (first >= 0)
            {
                // Duplicates of a job in one batch share the first one's fate instead of racing it.
                duplicateOf ??= new int[n];
                duplicateOf[i] = claimIndex[first] + 1;
                continue;
            }

            claimIndex.Add(i);
            claimKeys.Add((key, record.Id, job.Key));
        }

        if (claimKeys.Count > 0)
        {
            await RunClaimedAsync(items, keys, claimIndex, claimKeys, results, cancellationToken).ConfigureAwait(false);
        }

        if (duplicateOf is not null)
        {
            for (int i = 0; i < n; i++)
            {
                if (duplicateOf[i] > 0)
                {
                    results[i] = AsDuplicate(items[i].Record, results[duplicateOf[i] - 1]);
                }
            }
        }

        foreach (ItemResult r in results)
        {
            _stats.Add(r.Outcome);
        }

        return results;
    }

    private async Task RunClaimedAsync(
        IReadOnlyList<DecodedRecord> items,
        string?[] keys,
        List<int> claimIndex,
        List<(string Key, string MessageId, string? JobKey)> claimKeys,
        ItemResult[] results,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<ClaimOutcome> outcomes;
        try
        {
            outcomes = await _guard.ClaimAsync(claimKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogStoreFailure(_logger, ex.Message, ex);
            foreach (int i in claimIndex)
            {
                results[i] = RetryLater(items[i].Record, $"idempotency store unavailable: {ex.Message}");
            }

            return;
        }

        List<int> runnable = _runnable;
        runnable.Clear();
        DateTimeOffset now = _time.GetUtcNow();
        for (int c = 0; c < claimIndex.Count; c++)
        {
            int i = claimIndex[c];
            SourceRecord record = items[i].Record;
            ClaimOutcome outcome = outcomes[c];
            switch (outcome.Status)
            {
                case ClaimStatus.Claimed:
                    runnable.Add(i);
                    break;
                case ClaimStatus.AlreadyCompleted:
                    results[i] = ItemResult.Duplicate(record, outcome.Existing?.ResultLocation);
                    break;
                case ClaimStatus.FailedPermanent:
                    results[i] = ItemResult.Permanent(record, outcome.Existing?.FailureReason ?? "failed permanently on an earlier receive");
                    LogFailFast(_logger, record.Id, record.ReceiveCount, results[i].Reason!);
                    break;
                default:
                    // Wait out the other owner's claim instead of burning receives on it.
                    DateTimeOffset until = outcome.Existing?.Expiry ?? now + _guard.Lease;
                    TimeSpan delay = until - now + TimeSpan.FromSeconds(1);
                    results[i] = ItemResult.Defer(record, $"job is in progress elsewhere (owner {outcome.Existing?.Owner})", Clamp(delay));
                    break;
            }
        }

        if (runnable.Count == 0)
        {
            return;
        }

        Volatile.Write(ref _running, new RunningBatch(items, keys, runnable.ToArray()));
        List<ClaimFinish> finishes = _finishes;
        finishes.Clear();
        long oldestPending = 0;
        int firstFailure = FirstFailureIndex(results, items.Count);
        try
        {
            foreach (int i in runnable)
            {
                string key = keys[i]!;
                SourceRecord record = items[i].Record;
                if (_options.StopOnFirstFailure && firstFailure < i)
                {
                    results[i] = ItemResult.Unstarted(record, "not attempted: an earlier record of the batch failed");
                    finishes.Add(_guard.Release(key));
                    continue;
                }

                if (finishes.Count > 0 && _time.GetElapsedTime(oldestPending) >= _options.FinishFlushInterval)
                {
                    await FlushAsync(finishes, cancellationToken).ConfigureAwait(false);
                }

                ItemResult result = await RunOneAsync(items[i].Job!, record, key, cancellationToken).ConfigureAwait(false);
                results[i] = result;
                if (finishes.Count == 0)
                {
                    oldestPending = _time.GetTimestamp();
                }

                finishes.Add(result.Outcome switch
                {
                    ItemOutcome.Succeeded => _guard.Complete(key, result.ResultLocation),
                    ItemOutcome.PermanentFailure => _guard.Fail(key, result.Reason ?? "failed permanently"),
                    _ => _guard.Release(key),
                });

                if (result.IsFailure && i < firstFailure)
                {
                    firstFailure = i;
                }
            }

            await FlushAsync(finishes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _running, null);
        }
    }

    private async ValueTask<ItemResult> RunOneAsync(Job job, SourceRecord record, string key, CancellationToken cancellationToken)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(cancellationToken);
        RecordRetry.MarkStart(context, _time);
        var call = new Call(this, job, record, key);
        try
        {
            JobOutput output = await _retry.ExecuteAsync(
                static (ctx, state) => state.InvokeAsync(ctx.CancellationToken), context, call).ConfigureAwait(false);
            return ItemResult.Success(record, output.Location);
        }
        catch (PermanentJobException ex)
        {
            LogPermanent(_logger, record.Id, ex.Message);
            return ItemResult.Permanent(record, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            string reason = Describe(ex);
            LogRetriable(_logger, record.Id, record.ReceiveCount, reason);
            return RetryLater(record, reason);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private sealed class Call(BatchInvoker owner, Job job, SourceRecord record, string key)
    {
        private int _attempt;

        public ValueTask<JobOutput> InvokeAsync(CancellationToken cancellationToken)
        {
            owner._stats.AddInvoked();
            var context = new InvocationContext(record.Id, record.ReceiveCount, ++_attempt, key);
            return owner._function.InvokeAsync(job, context, cancellationToken);
        }
    }

    private async ValueTask FlushAsync(List<ClaimFinish> finishes, CancellationToken cancellationToken)
    {
        if (finishes.Count == 0)
        {
            return;
        }

        try
        {
            await _guard.FinishAsync(finishes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The outputs exist; unrecorded claims lapse after one lease and a redelivery then redoes the work.
            LogStoreFailure(_logger, ex.Message, ex);
        }

        finishes.Clear();
    }

    private async Task AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        try
        {
            await _acknowledger.AcknowledgeAsync(results, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Unacknowledged records reappear when their visibility ends; completed ones are then skipped.
            LogAckFailure(_logger, results.Count, ex.Message, ex);
        }
    }

    private async Task ReleaseAsync(Batch batch, CancellationToken cancellationToken)
    {
        SourceRecord[] records = CollectRecords(batch.Items);
        try
        {
            await _acknowledger.ReleaseAsync(records, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogAckFailure(_logger, records.Length, ex.Message, ex);
        }

        foreach (SourceRecord _ in records)
        {
            _stats.Add(ItemOutcome.Released);
        }
    }

    /// <summary>
    /// Renews the claims (and source visibility) of the batch <see cref="InvokeAsync"/> is running, every
    /// HeartbeatInterval until cancelled. <see cref="RunAsync"/> runs it itself; callers that drive
    /// <see cref="InvokeAsync"/> directly (the stream lanes) run it alongside.
    /// </summary>
    public Task RunHeartbeatAsync(CancellationToken cancellationToken) => HeartbeatAsync(cancellationToken);

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Volatile.Read(ref _running) is not { } running)
                {
                    continue;
                }

                try
                {
                    await _guard.RenewAsync(running.Keys(), cancellationToken).ConfigureAwait(false);
                    await _acknowledger.ExtendAsync(running.Records(), _acknowledger.VisibilityTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    LogHeartbeatFailure(_logger, ex.Message, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private ItemResult RetryLater(SourceRecord record, string reason) =>
        ItemResult.Retriable(record, reason, SourceBackoff.For(record.ReceiveCount, _options.SourceBackoffBase, _options.SourceBackoffMax, _random));

    private static ItemResult AsDuplicate(SourceRecord record, ItemResult first) => first.Outcome switch
    {
        ItemOutcome.Succeeded or ItemOutcome.Skipped => ItemResult.Duplicate(record, first.ResultLocation),
        _ => first with { Record = record },
    };

    private static int FirstFailureIndex(ItemResult[] results, int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (results[i].Record is not null && results[i].IsFailure)
            {
                return i;
            }
        }

        return int.MaxValue;
    }

    private static int IndexOfKey(List<(string Key, string MessageId, string? JobKey)> claims, string key)
    {
        for (int i = 0; i < claims.Count; i++)
        {
            if (string.Equals(claims[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static SourceRecord[] CollectRecords(IReadOnlyList<DecodedRecord> items)
    {
        var records = new SourceRecord[items.Count];
        for (int i = 0; i < records.Length; i++)
        {
            records[i] = items[i].Record;
        }

        return records;
    }

    private static TimeSpan Clamp(TimeSpan delay) =>
        delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay > TimeSpan.FromHours(12) ? TimeSpan.FromHours(12) : delay;

    private static string Describe(Exception ex) => ex switch
    {
        TransientJobException or TimeoutException => ex.Message,
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    /// <summary>
    /// The batch whose claims and visibility the heartbeat renews. It only holds references: the lists are built when
    /// a heartbeat actually ticks during the batch, which short batches never see.
    /// </summary>
    private sealed class RunningBatch(IReadOnlyList<DecodedRecord> items, string?[] keys, int[] runnable)
    {
        public IReadOnlyList<string> Keys() => Array.ConvertAll(runnable, i => keys[i]!);

        public IReadOnlyList<SourceRecord> Records() => CollectRecords(items);
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Record {MessageId} failed permanently: {Reason}")]
    private static partial void LogPermanent(ILogger logger, string messageId, string reason);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Record {MessageId} (receive {ReceiveCount}) fails fast, as on its earlier receive: {Reason}")]
    private static partial void LogFailFast(ILogger logger, string messageId, int receiveCount, string reason);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Record {MessageId} (receive {ReceiveCount}) goes back to the source: {Reason}")]
    private static partial void LogRetriable(ILogger logger, string messageId, int receiveCount, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "Idempotency store failed: {Reason}")]
    private static partial void LogStoreFailure(ILogger logger, string reason, Exception ex);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Acknowledging {Count} records failed; they reappear after their visibility timeout: {Reason}")]
    private static partial void LogAckFailure(ILogger logger, int count, string reason, Exception ex);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning, Message = "Heartbeat failed: {Reason}")]
    private static partial void LogHeartbeatFailure(ILogger logger, string reason, Exception ex);
}
