using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>How a shard's ownership changed for this host.</summary>
public enum OwnershipChangeKind
{
    /// <summary>Taken (free, expired or stolen): start processing from its checkpoint.</summary>
    Acquired,

    /// <summary>Taken by another host, or not renewed within the lease duration: stop processing, do not checkpoint.</summary>
    Lost,

    /// <summary>Given back at shutdown (after the final checkpoint).</summary>
    Released,
}

/// <summary>A shard this host started or stopped owning.</summary>
public sealed record OwnershipChange(string ShardId, OwnershipChangeKind Kind, Lease Lease);

/// <summary>
/// Runs the lease cycle of one host (Azure EventProcessor's load balancer loop): every
/// <see cref="LeaseCoordinatorOptions.EffectiveCyclePeriod"/> it renews its own leases, lists all, lets the
/// <see cref="LeaseBalancer"/> decide, takes the free leases and steals at most one. Store failures inside the cycle
/// never escape: each goes to the one error handler, and the cycle goes on.
/// </summary>
/// <remarks>
/// A lease whose renewal keeps failing with errors (not conditions) for a whole lease duration is reported lost: by
/// then another host may have taken it. Ownership changes are raised synchronously on the cycle's thread through
/// <see cref="OwnershipChanged"/>; <see cref="OwnedShards"/> is a snapshot. At shutdown (when
/// <see cref="LeaseCoordinatorOptions.ReleaseOnShutdown"/>) each lease gets the final checkpoint callback's answer and
/// is released in the same write.
/// </remarks>
public sealed partial class LeaseCoordinator
{
    private readonly ILeaseStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<string, CancellationToken, ValueTask<string?>>? _finalCheckpoint;
    private readonly Action<Exception>? _onError;
    private readonly LeaseBalancer _balancer;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, (Lease Lease, DateTimeOffset RenewedAt)> _owned = new(StringComparer.Ordinal);

    // One writer per lease at a time (renewal or checkpoint), so they never race each other's counter; shards stay apart.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _leaseGates = new(StringComparer.Ordinal);

    /// <param name="store">The lease table.</param>
    /// <param name="options">Validated on construction.</param>
    /// <param name="timeProvider">The clock of expiry and of the cycle.</param>
    /// <param name="finalCheckpoint">At shutdown, per owned shard: the checkpoint to store with the release, or null to keep the stored one.</param>
    /// <param name="onError">The one handler of store failures inside the cycle (they are logged too).</param>
    /// <param name="logger">Optional.</param>
    public LeaseCoordinator(
        ILeaseStore store,
        LeaseCoordinatorOptions options,
        TimeProvider timeProvider,
        Func<string, CancellationToken, ValueTask<string?>>? finalCheckpoint = null,
        Action<Exception>? onError = null,
        ILogger<LeaseCoordinator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Options = options.Validate();
        _store = store;
        _time = timeProvider;
        _finalCheckpoint = finalCheckpoint;
        _onError = onError;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _balancer = new LeaseBalancer(options.WorkerId, options.LeaseDuration, timeProvider);
    }

    public LeaseCoordinatorOptions Options { get; }

    /// <summary>Raised on the cycle's thread when this host acquires, loses or releases a shard.</summary>
    public event EventHandler<OwnershipChange>? OwnershipChanged;

    /// <summary>The shards this host owns now (a snapshot, ordinal order).</summary>
    public IReadOnlyList<string> OwnedShards => [.. _owned.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Completed cycles so far.</summary>
    public long Cycles => Interlocked.Read(ref _cycles);

    private long _cycles;

    /// <summary>Runs cycles until <paramref name="cancellationToken"/> is cancelled, then releases (or abandons) its leases.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await RunCycleAsync(cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _cycles);
                await Task.Delay(Options.EffectiveCyclePeriod, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }

        if (Options.ReleaseOnShutdown)
        {
            await ReleaseAllAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stores <paramref name="checkpoint"/> for an owned shard; false when this host does not own it (any more), in
    /// which case the caller must stop processing the shard.
    /// </summary>
    public async Task<bool> CheckpointAsync(string shardId, string checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(shardId);
        Checkpoints.Validate(checkpoint, nameof(checkpoint));

        // Not under the cycle's gate: shards checkpoint at every batch end, and one slow write must not hold up the
        // other shards or the cycle. Only this lease's renewal waits for it.
        var gate = GateOf(shardId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_owned.TryGetValue(shardId, out var held))
            {
                return false;
            }

            var written = await _store.TryCheckpointAsync(held.Lease, checkpoint, cancellationToken).ConfigureAwait(false);
            if (written is null)
            {
                Drop(shardId, held.Lease, OwnershipChangeKind.Lost);
                return false;
            }

            Advance(shardId, written);
            return _owned.ContainsKey(shardId);
        }
        finally
        {
            gate.Release();
        }
    }

    private SemaphoreSlim GateOf(string leaseKey) => _leaseGates.GetOrAdd(leaseKey, static _ => new SemaphoreSlim(1, 1));

    /// <summary>Keeps the newest version of an owned lease (writes of the cycle and of checkpoints may finish in any order).</summary>
    private void Advance(string shardId, Lease written)
    {
        var now = _time.GetUtcNow();
        while (_owned.TryGetValue(shardId, out var current))
        {
            if (current.Lease.Counter >= written.Counter || _owned.TryUpdate(shardId, (written, now), current))
            {
                return;
            }
        }
    }

    /// <summary>One cycle; store failures go to the error handler. Public for tests and for hosts that drive their own loop.</summary>
    public async Task RunCycleAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RenewOwnAsync(cancellationToken).ConfigureAwait(false);
            IReadOnlyList<Lease> all;
            try
            {
                all = await _store.ListAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
            {
                Report(e);
                return;
            }

            var decision = _balancer.Decide(all);
            foreach (var lease in decision.ToTake)
            {
                await TryTakeAsync(lease, cancellationToken).ConfigureAwait(false);
            }

            if (decision.ToSteal is { } victim)
            {
                LogSteal(_logger, Options.WorkerId, victim.LeaseKey, victim.Owner ?? "-", decision.FairShare);
                await TryTakeAsync(victim, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RenewOwnAsync(CancellationToken cancellationToken)
    {
        foreach (var key in _owned.Keys.ToArray())
        {
            var gate = GateOf(key);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_owned.TryGetValue(key, out var held))
                {
                    await RenewOneAsync(key, held, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                gate.Release();
            }
        }
    }

    private async Task RenewOneAsync(string key, (Lease Lease, DateTimeOffset RenewedAt) held, CancellationToken cancellationToken)
    {
        if (held.Lease.IsFinished)
        {
            // A finished shard needs no owner; handing it back lets its children's hosts see it settled.
            await TryReleaseOneAsync(held.Lease, null, cancellationToken).ConfigureAwait(false);
            Drop(key, held.Lease, OwnershipChangeKind.Released);
            return;
        }

        try
        {
            var renewed = await _store.TryRenewAsync(held.Lease, cancellationToken).ConfigureAwait(false)
                ?? await RecoverOwnAsync(held.Lease, cancellationToken).ConfigureAwait(false);
            if (renewed is null)
            {
                Drop(key, held.Lease, OwnershipChangeKind.Lost);
            }
            else
            {
                Advance(key, renewed);
                _balancer.Observe([renewed]);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            Report(e);
            if (_time.GetUtcNow() - held.RenewedAt >= Options.LeaseDuration)
            {
                Drop(key, held.Lease, OwnershipChangeKind.Lost);
            }
        }
    }

    /// <summary>
    /// After a refused renewal: a write of ours that timed out may still have been applied (moving the counter), which
    /// must not cost us the lease (KCL re-reads for the same reason). Only another host's take or a release changes the
    /// owner, so a lease still naming this worker is still ours: renew it at its current counter.
    /// </summary>
    private async Task<Lease?> RecoverOwnAsync(Lease held, CancellationToken cancellationToken)
    {
        var current = await _store.GetAsync(held.LeaseKey, cancellationToken).ConfigureAwait(false);
        if (current is null || !string.Equals(current.Owner, Options.WorkerId, StringComparison.Ordinal))
        {
            return null;
        }

        LogRecovered(_logger, Options.WorkerId, held.LeaseKey, held.Counter, current.Counter);
        return await _store.TryRenewAsync(current, cancellationToken).ConfigureAwait(false);
    }

    private async Task TryTakeAsync(Lease lease, CancellationToken cancellationToken)
    {
        try
        {
            var taken = await _store.TryTakeAsync(lease, Options.WorkerId, cancellationToken).ConfigureAwait(false);
            if (taken is not null)
            {
                _owned[taken.LeaseKey] = (taken, _time.GetUtcNow());
                _balancer.Observe([taken]);
                Publish(new OwnershipChange(taken.LeaseKey, OwnershipChangeKind.Acquired, taken));
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            Report(e);
        }
    }

    private async Task ReleaseAllAsync()
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // The run's token is cancelled by now; the release is bounded by one lease duration instead.
            using var bound = new CancellationTokenSource(Options.LeaseDuration, _time);
            foreach (var (key, held) in _owned.ToArray())
            {
                string? final = null;
                if (_finalCheckpoint is not null)
                {
                    try
                    {
                        final = await _finalCheckpoint(key, bound.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Report(e);
                    }
                }

                await TryReleaseOneAsync(held.Lease, final, bound.Token).ConfigureAwait(false);
                Drop(key, held.Lease, OwnershipChangeKind.Released);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task TryReleaseOneAsync(Lease lease, string? final, CancellationToken cancellationToken)
    {
        try
        {
            await _store.TryReleaseAsync(lease, final, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Report(e);
        }
    }

    private void Drop(string key, Lease lease, OwnershipChangeKind kind)
    {
        if (_owned.TryRemove(key, out _))
        {
            Publish(new OwnershipChange(key, kind, lease));
        }
    }

    private void Publish(OwnershipChange change)
    {
        LogChange(_logger, Options.WorkerId, change.ShardId, change.Kind, change.Lease.Counter);
        OwnershipChanged?.Invoke(this, change);
    }

    private void Report(Exception e)
    {
        LogStoreError(_logger, Options.WorkerId, e);
        try
        {
            _onError?.Invoke(e);
        }
        catch (Exception handlerFailure)
        {
            // A throwing handler must not stop the cycle that keeps the leases alive.
            LogStoreError(_logger, Options.WorkerId, handlerFailure);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Worker {WorkerId}: shard {ShardId} {Kind} (lease counter {Counter})")]
    private static partial void LogChange(ILogger logger, string workerId, string shardId, OwnershipChangeKind kind, long counter);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Worker {WorkerId} steals shard {ShardId} from {Owner} (fair share {FairShare})")]
    private static partial void LogSteal(ILogger logger, string workerId, string shardId, string owner, int fairShare);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Worker {WorkerId}: shard {ShardId} lease counter moved from {Expected} to {Found} by a write of ours whose answer was lost; still ours")]
    private static partial void LogRecovered(ILogger logger, string workerId, string shardId, long expected, long found);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Worker {WorkerId}: lease store failure inside the cycle")]
    private static partial void LogStoreError(ILogger logger, string workerId, Exception exception);
}
