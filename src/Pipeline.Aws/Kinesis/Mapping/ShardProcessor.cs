using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Pipeline.Core.Sources.Streams;
using Pipeline.Core.Telemetry;

namespace Pipeline.Aws.Kinesis.Mapping;

/// <summary>How a <see cref="ShardProcessor"/> ended.</summary>
public enum ShardProcessorOutcome
{
    /// <summary>Read to SHARD_END, every record finished, SHARD_END checkpointed: the children may start.</summary>
    ShardEnded,

    /// <summary>Stopped gracefully (shutdown): the batch in progress finished and the checkpoint was written.</summary>
    Stopped,

    /// <summary>The lease was lost (stolen, or expired): stopped at once without a checkpoint.</summary>
    Lost,
}

/// <summary>
/// The work on one owned shard: its <see cref="ShardPoller"/> → tracker → <see cref="LaneRouter"/> (ParallelizationFactor
/// lanes by consistent hash of the partition key) → batcher → <see cref="StreamBatchInvoker"/> → function, with a
/// checkpointer that writes the lowest point every lane has finished (<see cref="ShardCheckpointTracker"/>) at every
/// batch end and at least every <see cref="KinesisMappingOptions.CheckpointInterval"/>.
/// </summary>
internal sealed partial class ShardProcessor
{
    private readonly KinesisMappingOptions _options;
    private readonly IKinesisClient _kinesis;
    private readonly Func<string, string, CancellationToken, Task<bool>> _checkpoint;
    private readonly IJobFunction _function;
    private readonly IdempotencyGuard _guard;
    private readonly IDiscardedBatchSink? _sink;
    private readonly TimeProvider _time;
    private readonly MappingStatistics _stats;
    private readonly MappingMetrics _metrics;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly ShardCheckpointTracker _tracker;
    private readonly ShardPollerOptions _pollerOptions;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Channel<bool> _checkpointWanted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private string? _written;

    public ShardProcessor(
        Lease lease,
        string? streamArn,
        KinesisMappingOptions options,
        IKinesisClient kinesis,
        Func<string, string, CancellationToken, Task<bool>> checkpoint,
        IJobFunction function,
        IdempotencyGuard guard,
        IDiscardedBatchSink? sink,
        TimeProvider time,
        MappingStatistics stats,
        MappingMetrics metrics,
        ILoggerFactory loggers)
    {
        ShardId = lease.LeaseKey;
        _options = options;
        _kinesis = kinesis;
        _checkpoint = checkpoint;
        _function = function;
        _guard = guard;
        _sink = sink;
        _time = time;
        _stats = stats;
        _metrics = metrics;
        _loggers = loggers;
        _logger = loggers.CreateLogger<ShardProcessor>();
        string? sequence = SequenceNumbers.IsValid(lease.Checkpoint) ? lease.Checkpoint : null;
        _written = sequence;
        _tracker = new ShardCheckpointTracker(ShardId, sequence);
        _pollerOptions = options.PollerOptions(ShardId, sequence, streamArn, lease.Checkpoint switch
        {
            Checkpoints.Latest => StartingPosition.Latest,
            Checkpoints.AtTimestamp when options.StartingPositionTimestamp is not null => StartingPosition.AtTimestamp,
            _ => StartingPosition.TrimHorizon,
        });
        StartingCheckpoint = lease.Checkpoint;
    }

    public string ShardId { get; }

    /// <summary>The lease's checkpoint when this processor took the shard.</summary>
    public string StartingCheckpoint { get; }

    /// <summary>The last checkpoint written (or started from); null when none yet.</summary>
    public string? WrittenCheckpoint => Volatile.Read(ref _written);

    /// <summary>The poller's counters (records read, MillisBehindLatest) once running.</summary>
    public ShardPollerCounters? PollerCounters { get; private set; }

    /// <summary>Asks for a graceful stop: no more polling; the batch in progress finishes; the checkpoint is written.</summary>
    public void Stop() => _ = _stop.CancelAsync();

    /// <summary>Stops at once without a checkpoint (the lease is gone).</summary>
    public void Abort() => _ = _abort.CancelAsync();

    public async Task<ShardProcessorOutcome> RunAsync()
    {
        var batches = Channel.CreateBounded<ShardBatch>(new BoundedChannelOptions(_options.ShardBufferBatches) { SingleReader = true, SingleWriter = true });
        var routed = Channel.CreateBounded<SourceRecord>(new BoundedChannelOptions(Math.Max(16, _options.Batching.BatchSize)) { SingleReader = true, SingleWriter = true });
        var poller = new ShardPoller(_kinesis, _pollerOptions, batches.Writer, _time, _loggers.CreateLogger<ShardPoller>());
        PollerCounters = poller.Counters;
        using IDisposable age = _metrics.StartObservingIteratorAge(ShardId, () => poller.Counters.MillisBehindLatest);
        var router = new LaneRouter(routed.Reader, AutoJobDecoder.Instance, LaneKeySource.PartitionKey, _options.ParallelizationFactor, CreateLane, _loggers.CreateLogger<LaneRouter>());
        using var pollStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _abort.Token);
        using var checkpointStop = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        LogStarted(_logger, ShardId, StartingCheckpoint, _options.ParallelizationFactor);

        Task<ShardPollResult> polling = PollAsync(poller, batches.Writer, pollStop.Token);
        Task dispatching = DispatchAsync(batches.Reader, routed.Writer);
        Task routing = router.RunAsync(_abort.Token);
        Task checkpointing = CheckpointLoopAsync(checkpointStop.Token);
        try
        {
            ShardPollResult result = await polling.ConfigureAwait(false);
            await dispatching.ConfigureAwait(false);
            await routing.ConfigureAwait(false);
            await router.WhenLanesStopped().ConfigureAwait(false);
            await checkpointStop.CancelAsync().ConfigureAwait(false);
            await checkpointing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _abort.Token.ThrowIfCancellationRequested();

            if (!await WriteCheckpointAsync(CancellationToken.None).ConfigureAwait(false))
            {
                return ShardProcessorOutcome.Lost;
            }

            if (result is ShardEnded ended && !_stop.IsCancellationRequested && _tracker.Pending == 0)
            {
                if (!await _checkpoint(ShardId, Checkpoints.ShardEnd, CancellationToken.None).ConfigureAwait(false))
                {
                    return ShardProcessorOutcome.Lost;
                }

                Volatile.Write(ref _written, Checkpoints.ShardEnd);
                LogShardEnded(_logger, ShardId, string.Join(",", ended.ChildShardIds));
                return ShardProcessorOutcome.ShardEnded;
            }

            LogStopped(_logger, ShardId, WrittenCheckpoint ?? StartingCheckpoint, _tracker.Pending);
            return ShardProcessorOutcome.Stopped;
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            await Settle(polling, dispatching, routing, router.WhenLanesStopped(), checkpointing).ConfigureAwait(false);
            LogLost(_logger, ShardId, WrittenCheckpoint ?? StartingCheckpoint);
            return ShardProcessorOutcome.Lost;
        }
        catch
        {
            // A stage failed for real (stream deleted, a bug): stop the others before reporting it.
            await _abort.CancelAsync().ConfigureAwait(false);
            await Settle(polling, dispatching, routing, router.WhenLanesStopped(), checkpointing).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<ShardPollResult> PollAsync(ShardPoller poller, ChannelWriter<ShardBatch> output, CancellationToken cancellationToken)
    {
        try
        {
            return await poller.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            output.TryComplete();
        }
    }

    /// <summary>Tracks each record in shard order and hands it to the router; filtered records finish at once.</summary>
    private async Task DispatchAsync(ChannelReader<ShardBatch> batches, ChannelWriter<SourceRecord> routed)
    {
        try
        {
            await foreach (ShardBatch batch in batches.ReadAllAsync(_abort.Token).ConfigureAwait(false))
            {
                if (_stop.IsCancellationRequested)
                {
                    // Read but never started: the checkpoint stays below them and the next owner reads them again.
                    continue;
                }

                _stats.AddPolled(batch.Records.Count);
                int filtered = 0;
                foreach (SourceRecord record in batch.Records)
                {
                    _tracker.Track(record.Id);
                    if (_options.Filter is { } filter && !filter.Matches(record))
                    {
                        _tracker.Complete(record.Id);
                        filtered++;
                        continue;
                    }

                    if (!routed.TryWrite(record))
                    {
                        await routed.WriteAsync(record, _abort.Token).ConfigureAwait(false);
                    }
                }

                if (filtered > 0)
                {
                    _stats.AddFilteredOut(filtered);
                    RequestCheckpoint();
                }
            }
        }
        finally
        {
            routed.TryComplete();
        }
    }

    private Lane CreateLane(int id)
    {
        var invoker = new BatchInvoker(_function, _guard, NoOpAcknowledger.Instance, _options.EffectiveInvoker, _options.Batching, _time, _stats, _loggers.CreateLogger<BatchInvoker>());
        var stream = new StreamBatchInvoker(invoker, _options.Failure, _sink, ShardId, r => _tracker.Complete(r.Id), RequestCheckpoint, _time, _stats, _loggers.CreateLogger<StreamBatchInvoker>());
        int capacity = Math.Clamp(_options.Batching.BatchSize * 2, 16, 10_000);
        return new Lane(id, capacity, _options.Batching, _time, (batches, abort) => stream.RunAsync(batches, () => _stop.IsCancellationRequested, _ => { }, abort));
    }

    private void RequestCheckpoint() => _checkpointWanted.Writer.TryWrite(true);

    /// <summary>Writes the checkpoint when a batch ends (coalesced: one write at a time) and at least every interval.</summary>
    private async Task CheckpointLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using (var interval = new CancellationTokenSource(_options.CheckpointInterval, _time))
                using (var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, interval.Token))
                {
                    try
                    {
                        await _checkpointWanted.Reader.WaitToReadAsync(tick.Token).ConfigureAwait(false);
                        _checkpointWanted.Reader.TryRead(out _);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The interval passed without a batch end: write what progress there is anyway.
                    }
                }

                // Never cancelled in flight: a write the table applied but this host gave up on leaves a stale lease
                // counter, so the next renew fails and the host loses its own lease (no graceful hand-off at shutdown).
                if (!await WriteCheckpointAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    Abort();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes the tracker's checkpoint if it moved; false when the lease is no longer ours. Store errors are logged and retried later.</summary>
    private async Task<bool> WriteCheckpointAsync(CancellationToken cancellationToken)
    {
        string? checkpoint = _tracker.Checkpoint;
        string? written = Volatile.Read(ref _written);
        if (checkpoint is null || (written is not null && SequenceNumbers.IsValid(written) && SequenceNumbers.Compare(checkpoint, written) <= 0))
        {
            return true;
        }

        try
        {
            if (!await _checkpoint(ShardId, checkpoint, cancellationToken).ConfigureAwait(false))
            {
                LogCheckpointRefused(_logger, ShardId, checkpoint);
                return false;
            }

            Volatile.Write(ref _written, checkpoint);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCheckpointFailed(_logger, ShardId, checkpoint, ex.Message, ex);
            return true;
        }
    }

    private static async Task Settle(params Task[] tasks)
    {
        foreach (Task task in tasks)
        {
            await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "Shard {ShardId}: processing from {Checkpoint} with {Lanes} lane(s)")]
    private static partial void LogStarted(ILogger logger, string shardId, string checkpoint, int lanes);

    [LoggerMessage(EventId = 61, Level = LogLevel.Information, Message = "Shard {ShardId}: SHARD_END checkpointed; children [{Children}] may start")]
    private static partial void LogShardEnded(ILogger logger, string shardId, string children);

    [LoggerMessage(EventId = 62, Level = LogLevel.Information, Message = "Shard {ShardId}: stopped at checkpoint {Checkpoint}; {Pending} record(s) read but unfinished are left to the next owner")]
    private static partial void LogStopped(ILogger logger, string shardId, string checkpoint, int pending);

    [LoggerMessage(EventId = 63, Level = LogLevel.Warning, Message = "Shard {ShardId}: lease lost; stopped without checkpointing (last checkpoint {Checkpoint})")]
    private static partial void LogLost(ILogger logger, string shardId, string checkpoint);

    [LoggerMessage(EventId = 64, Level = LogLevel.Warning, Message = "Shard {ShardId}: checkpoint {Checkpoint} refused: the lease is no longer ours")]
    private static partial void LogCheckpointRefused(ILogger logger, string shardId, string checkpoint);

    [LoggerMessage(EventId = 65, Level = LogLevel.Warning, Message = "Shard {ShardId}: writing checkpoint {Checkpoint} failed; retrying at the next batch end or interval: {Reason}")]
    private static partial void LogCheckpointFailed(ILogger logger, string shardId, string checkpoint, string reason, Exception exception);
}
