using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.OnFailure;
using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Streams;
using Pipeline.Core.Telemetry;

namespace Pipeline.Aws.Kinesis.Mapping;

/// <summary>
/// One Kinesis event source mapping on this host. Shards are shared with the other hosts of the same lease table:
/// the <see cref="LeaseCoordinator"/> takes this host's fair share, and each owned shard runs in a
/// <see cref="ShardProcessor"/> (poller → ParallelizationFactor lanes → function) that checkpoints into its lease.
/// </summary>
/// <remarks>
/// <para>
/// Shard sync: at start and every <see cref="KinesisMappingOptions.ShardSyncInterval"/> (and at once when a shard
/// ends) every shard of the stream gets a lease if it has none, with its parents; a child lease starts at
/// TRIM_HORIZON, and the balancer gives it out only once its parents are at SHARD_END, so resharding keeps the order
/// of each partition key.
/// </para>
/// <para>
/// Stopping (the token of <see cref="RunAsync"/>): every processor stops polling, finishes its batch in progress and
/// writes its checkpoint; then the leases are released in one write each (graceful hand-off), so another host takes
/// them on its next cycle instead of after the lease duration.
/// </para>
/// </remarks>
public sealed partial class KinesisEventSourceMapping
{
    private readonly IKinesisClient _kinesis;
    private readonly ILeaseStore _leases;
    private readonly LeaseCoordinatorOptions _leaseOptions;
    private readonly IJobFunction _function;
    private readonly IdempotencyGuard _guard;
    private readonly IOnFailureDestination? _destination;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly MappingMetrics _metrics;
    private readonly ConcurrentDictionary<string, (ShardProcessor Processor, Task<ShardProcessorOutcome> Run)> _processors = new(StringComparer.Ordinal);
    // Coalescing wake-up of the shard sync: shards ending together ask once (a SemaphoreSlim(0, 1) threw SemaphoreFullException on the second ask).
    private readonly Channel<bool> _syncNow = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _lifecycle = new();
    private volatile bool _stopping;
    private LeaseCoordinator? _coordinator;
    private IDiscardedBatchSink? _sink;
    private string? _streamArn;
    private Exception? _fault;
    private CancellationTokenSource? _failed;

    public KinesisEventSourceMapping(
        KinesisMappingOptions options,
        IKinesisClient kinesis,
        ILeaseStore leases,
        LeaseCoordinatorOptions leaseOptions,
        IJobFunction function,
        IdempotencyGuard guard,
        IOnFailureDestination? onFailure = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(kinesis);
        ArgumentNullException.ThrowIfNull(leases);
        ArgumentNullException.ThrowIfNull(leaseOptions);
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(guard);
        Options = options.Validate();
        _leaseOptions = leaseOptions.Validate();
        _kinesis = kinesis;
        _leases = leases;
        _function = function;
        _guard = guard;
        _destination = onFailure;
        _time = timeProvider ?? TimeProvider.System;
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<KinesisEventSourceMapping>();
        Name = options.Name ?? options.StreamName;
        _metrics = new MappingMetrics(Name, meterFactory);
        Statistics = new MappingStatistics(_metrics);
    }

    public KinesisMappingOptions Options { get; }

    public string Name { get; }

    public MappingStatistics Statistics { get; }

    /// <summary>The stream's ARN, once <see cref="RunAsync"/> has described the stream.</summary>
    public string? StreamArn => _streamArn;

    /// <summary>This host's lease coordinator while running.</summary>
    public LeaseCoordinator? Coordinator => _coordinator;

    /// <summary>The shards this host is processing now (ordinal order).</summary>
    public IReadOnlyList<string> ProcessingShards => [.. _processors.Keys.Order(StringComparer.Ordinal)];

    /// <summary>MillisBehindLatest of each shard processed now (-1 before its first read): the IteratorAge metric.</summary>
    public IReadOnlyDictionary<string, long> IteratorAges =>
        _processors.ToDictionary(p => p.Key, p => p.Value.Processor.PollerCounters?.MillisBehindLatest ?? -1, StringComparer.Ordinal);

    /// <summary>Runs until <paramref name="stoppingToken"/> is cancelled, then hands its shards off gracefully.</summary>
    /// <exception cref="KinesisResourceNotFoundException">The stream does not exist.</exception>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            var summary = await _kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = Options.StreamName }, stoppingToken).ConfigureAwait(false);
            _streamArn = summary.StreamDescriptionSummary.StreamARN ?? Options.StreamName;
            _sink = _destination is null ? null : new OnFailureSink(_destination, _streamArn, Options.FunctionName, _time);
            await SyncShardsAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped before the first shard was taken: nothing to hand off.
            return;
        }

        using var failed = new CancellationTokenSource();
        _failed = failed;
        using var running = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, failed.Token);
        var coordinator = new LeaseCoordinator(_leases, _leaseOptions, _time, FinalCheckpointAsync, e => LogLeaseError(_logger, Name, e.Message), _loggers.CreateLogger<LeaseCoordinator>());
        coordinator.OwnershipChanged += OnOwnershipChanged;
        _coordinator = coordinator;
        using var leaseStop = new CancellationTokenSource();
        Task leasing = coordinator.RunAsync(leaseStop.Token);
        Task syncing = SyncLoopAsync(running.Token);
        LogStarted(_logger, Name, _streamArn, Options.ParallelizationFactor, _leaseOptions.WorkerId);
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, running.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            // Stop the processors first (each finishes its batch and checkpoints), then release their leases.
            // Under the lock an acquisition racing the shutdown either sees _stopping or is in _processors here.
            lock (_lifecycle)
            {
                _stopping = true;
                foreach (var (_, (processor, _)) in _processors)
                {
                    processor.Stop();
                }
            }

            await Task.WhenAll(_processors.Values.Select(p => (Task)p.Run)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await leaseStop.CancelAsync().ConfigureAwait(false);
            await leasing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await syncing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            coordinator.OwnershipChanged -= OnOwnershipChanged;
            _coordinator = null;
            LogStopped(_logger, Name, Statistics.PolledEventCount, Statistics.SucceededEventCount, Statistics.DroppedEventCount);
        }

        if (_fault is { } fault)
        {
            throw new InvalidOperationException($"Kinesis mapping {Name}: a shard processor failed: {fault.Message}", fault);
        }
    }

    /// <summary>Creates a lease for every shard of the stream that has none; returns how many it created.</summary>
    public async Task<int> SyncShardsAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<Shard> shards = await _kinesis.ListAllShardsAsync(Options.StreamName, cancellationToken).ConfigureAwait(false);
        var ids = new HashSet<string>(shards.Select(s => s.ShardId), StringComparer.Ordinal);
        string initial = Options.StartingPosition switch
        {
            StartingPosition.Latest => Checkpoints.Latest,
            StartingPosition.AtTimestamp => Checkpoints.AtTimestamp,
            _ => Checkpoints.TrimHorizon,
        };
        // Listing first keeps a steady-state sync to two reads, instead of one refused conditional write per shard.
        var known = new HashSet<string>((await _leases.ListAsync(cancellationToken).ConfigureAwait(false)).Select(l => l.LeaseKey), StringComparer.Ordinal);
        var wanted = shards.Where(s => !known.Contains(s.ShardId)).Select(s =>
        {
            // Parents trimmed off the stream no longer gate their children.
            string[] parents = new[] { s.ParentShardId, s.AdjacentParentShardId }.Where(p => p is not null && ids.Contains(p)).Select(p => p!).ToArray();
            return new NewLease(s.ShardId, parents, parents.Length > 0 ? Checkpoints.TrimHorizon : initial);
        }).ToList();
        if (wanted.Count == 0)
        {
            return 0;
        }

        int created = await _leases.CreateIfMissingAsync(wanted, cancellationToken).ConfigureAwait(false);
        if (created > 0)
        {
            LogLeasesCreated(_logger, Name, created, shards.Count);
        }

        return created;
    }

    private async Task SyncLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var interval = new CancellationTokenSource(Options.ShardSyncInterval, _time))
            using (var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, interval.Token))
            {
                await ((Task)_syncNow.Reader.WaitToReadAsync(wake.Token).AsTask()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                _syncNow.Reader.TryRead(out _);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await SyncShardsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogSyncFailed(_logger, Name, ex.Message, ex);
            }
        }
    }

    private void OnOwnershipChanged(object? sender, OwnershipChange change)
    {
        switch (change.Kind)
        {
            case OwnershipChangeKind.Acquired:
                lock (_lifecycle)
                {
                    if (!_stopping)
                    {
                        var processor = new ShardProcessor(
                            change.Lease, _streamArn, Options, _kinesis, CheckpointAsync, _function, _guard, _sink, _time, Statistics, _metrics, _loggers);
                        _processors[change.ShardId] = (processor, Task.Run(() => RunProcessorAsync(processor)));
                    }
                }

                break;
            case OwnershipChangeKind.Lost:
                if (_processors.TryGetValue(change.ShardId, out var lost))
                {
                    lost.Processor.Abort();
                }

                break;
        }
    }

    private async Task<ShardProcessorOutcome> RunProcessorAsync(ShardProcessor processor)
    {
        try
        {
            ShardProcessorOutcome outcome = await processor.RunAsync().ConfigureAwait(false);
            if (outcome == ShardProcessorOutcome.ShardEnded)
            {
                // Children need leases before anyone can take them.
                _syncNow.Writer.TryWrite(true);
            }

            return outcome;
        }
        catch (Exception ex)
        {
            LogProcessorFailed(_logger, Name, processor.ShardId, ex.Message, ex);
            Interlocked.CompareExchange(ref _fault, ex, null);
            _failed?.Cancel();
            return ShardProcessorOutcome.Stopped;
        }
        finally
        {
            // Only while still running: at shutdown the release callback reads the final checkpoint from here.
            if (!_stopping)
            {
                if (_processors.TryGetValue(processor.ShardId, out var entry) && ReferenceEquals(entry.Processor, processor))
                {
                    _processors.TryRemove(KeyValuePair.Create(processor.ShardId, entry));
                }
            }
        }
    }

    private Task<bool> CheckpointAsync(string shardId, string checkpoint, CancellationToken cancellationToken) =>
        _coordinator is { } coordinator ? coordinator.CheckpointAsync(shardId, checkpoint, cancellationToken) : Task.FromResult(false);

    /// <summary>At release: the processor already wrote its checkpoint; null keeps the stored one.</summary>
    private ValueTask<string?> FinalCheckpointAsync(string shardId, CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);

    [LoggerMessage(EventId = 70, Level = LogLevel.Information, Message = "Kinesis mapping {Name}: reading {StreamArn}, ParallelizationFactor {Factor}, as worker {WorkerId}")]
    private static partial void LogStarted(ILogger logger, string name, string streamArn, int factor, string workerId);

    [LoggerMessage(EventId = 71, Level = LogLevel.Information, Message = "Kinesis mapping {Name}: created {Created} lease(s); the stream has {Shards} shard(s)")]
    private static partial void LogLeasesCreated(ILogger logger, string name, int created, int shards);

    [LoggerMessage(EventId = 72, Level = LogLevel.Warning, Message = "Kinesis mapping {Name}: lease store failure: {Reason}")]
    private static partial void LogLeaseError(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 73, Level = LogLevel.Warning, Message = "Kinesis mapping {Name}: reading the shard list failed; trying again later: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string name, string reason, Exception exception);

    [LoggerMessage(EventId = 74, Level = LogLevel.Error, Message = "Kinesis mapping {Name}: shard {ShardId} failed; stopping the mapping: {Reason}")]
    private static partial void LogProcessorFailed(ILogger logger, string name, string shardId, string reason, Exception exception);

    [LoggerMessage(EventId = 75, Level = LogLevel.Information, Message = "Kinesis mapping {Name} stopped: polled {Polled}, succeeded {Succeeded}, dropped {Dropped}")]
    private static partial void LogStopped(ILogger logger, string name, long polled, long succeeded, long dropped);
}
