using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Core.Hosting;

/// <summary>
/// The mapping's source with its acknowledgements counted, and every record it has received but not yet
/// acknowledged or released kept hidden.
/// </summary>
/// <remarks>
/// <para>
/// DeletedEventCount is what the source accepted, so it is counted after the call returns, not when an outcome is
/// decided.
/// </para>
/// <para>
/// A received record's visibility clock runs while it waits in the poll buffer, a lane, or a batch queued behind
/// the running one, and the invoker's heartbeat covers only the running batch. When a slow function (a loaded
/// machine, large images) makes that wait outlast the visibility timeout, the queue hands the message out again:
/// each such lapse is one more receive, so a good job climbs towards the redrive policy's maxReceiveCount and can
/// reach the dead-letter queue while it is still waiting its turn, or after it succeeded. So
/// <see cref="KeepHiddenAsync"/> extends, by one visibility timeout, every held record whose visibility was last set
/// more than half a timeout ago. A healthy pipeline, whose records wait less than that, makes no extra calls.
/// Sources with no visibility clock (streams; a zero <see cref="IBatchAcknowledger.VisibilityTimeout"/>) are not
/// tracked.
/// </para>
/// <para>
/// An acknowledgement or release first takes its records out of the held set, then waits for an extension already
/// sent for them, so an extension can never land after (and undo) a release or a failure's backoff.
/// </para>
/// </remarks>
internal sealed partial class ObservedSource : IRecordSource, IBatchAcknowledger
{
    private readonly IRecordSource _inner;
    private readonly IBatchAcknowledger _acknowledger;
    private readonly MappingStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _tracking;
    private readonly Lock _gate = new();

    /// <summary>Held records (by reference) and the timestamp their visibility was last set at.</summary>
    private readonly Dictionary<SourceRecord, long> _held = new(ReferenceEqualityComparer.Instance);
    private Task _extending = Task.CompletedTask;
    private int _sweeps;

    public ObservedSource(IRecordSource inner, MappingStatistics statistics, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _inner = inner;
        _acknowledger = inner.Acknowledger;
        _statistics = statistics;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _tracking = _acknowledger.VisibilityTimeout > TimeSpan.Zero;
    }

    public string Name => _inner.Name;

    public IBatchAcknowledger Acknowledger => this;

    public TimeSpan VisibilityTimeout => _acknowledger.VisibilityTimeout;

    /// <summary>Records received and not yet acknowledged or released (zero for untracked sources).</summary>
    public int HeldCount
    {
        get
        {
            lock (_gate)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Keeper passes completed so far (for tests that step a fake clock).</summary>
    internal int Sweeps => Volatile.Read(ref _sweeps);

    public async ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken)
    {
        IReadOnlyList<SourceRecord> records = await _inner.ReceiveAsync(maxRecords, cancellationToken).ConfigureAwait(false);
        if (_tracking && records.Count > 0)
        {
            long now = _time.GetTimestamp();
            lock (_gate)
            {
                foreach (SourceRecord record in records)
                {
                    _held[record] = now;
                }
            }
        }

        return records;
    }

    public async ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        if (_tracking)
        {
            Task extending;
            lock (_gate)
            {
                for (int i = 0; i < results.Count; i++)
                {
                    _held.Remove(results[i].Record);
                }

                extending = _extending;
            }

            await extending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _acknowledger.AcknowledgeAsync(results, cancellationToken).ConfigureAwait(false);
        int done = 0;
        for (int i = 0; i < results.Count; i++)
        {
            if (!results[i].IsFailure)
            {
                done++;
            }
        }

        _statistics.AddDeleted(done);
    }

    public async ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken)
    {
        long sent = _time.GetTimestamp();
        await _acknowledger.ExtendAsync(records, visibility, cancellationToken).ConfigureAwait(false);
        if (_tracking && visibility >= _acknowledger.VisibilityTimeout)
        {
            // The running batch's heartbeat already keeps these hidden: they do not look stale to the keeper.
            lock (_gate)
            {
                foreach (SourceRecord record in records)
                {
                    if (_held.ContainsKey(record))
                    {
                        _held[record] = sent;
                    }
                }
            }
        }
    }

    public async ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        if (_tracking)
        {
            Task extending;
            lock (_gate)
            {
                foreach (SourceRecord record in records)
                {
                    _held.Remove(record);
                }

                extending = _extending;
            }

            await extending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _acknowledger.ReleaseAsync(records, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Until cancelled, every sixth of a visibility timeout, extends the held records whose visibility was last set
    /// half a timeout ago or more. Returns at once for untracked sources.
    /// </summary>
    public async Task KeepHiddenAsync(CancellationToken cancellationToken)
    {
        if (!_tracking)
        {
            return;
        }

        TimeSpan visibility = _acknowledger.VisibilityTimeout;
        TimeSpan period = visibility / 6;
        if (period < MinimumPeriod)
        {
            period = MinimumPeriod;
        }

        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await ExtendStaleAsync(visibility, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _sweeps);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The keeper never ticks faster than this, however short the visibility timeout.</summary>
    internal static readonly TimeSpan MinimumPeriod = TimeSpan.FromMilliseconds(100);

    private async Task ExtendStaleAsync(TimeSpan visibility, CancellationToken cancellationToken)
    {
        List<SourceRecord>? stale = null;
        Task extending;
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            foreach ((SourceRecord record, long setAt) in _held)
            {
                if (_time.GetElapsedTime(setAt, now) >= visibility / 2)
                {
                    (stale ??= []).Add(record);
                }
            }

            if (stale is null)
            {
                return;
            }

            foreach (SourceRecord record in stale)
            {
                _held[record] = now;
            }

            // Started under the gate: an acknowledgement that removes one of these records afterwards sees this task
            // and waits for it before it deletes, backs off or releases.
            List<SourceRecord> batch = stale;
            extending = Task.Run(async () => await _acknowledger.ExtendAsync(batch, visibility, cancellationToken).ConfigureAwait(false), CancellationToken.None);
            _extending = extending;
        }

        try
        {
            await extending.ConfigureAwait(false);
            _statistics.AddKeptHidden(stale.Count);
            LogKeptHidden(_logger, stale.Count, Name, visibility.TotalSeconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not fatal: at worst a waiting message is received again, and the idempotency guard skips or defers it.
            LogKeepHiddenFailed(_logger, stale.Count, Name, ex.Message, ex);
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Debug,
        Message = "Extended the visibility of {Count} records waiting for a lane on {Source} by {Seconds} s (they waited over half a visibility timeout)")]
    private static partial void LogKeptHidden(ILogger logger, int count, string source, double seconds);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning,
        Message = "Could not extend the visibility of {Count} waiting records on {Source}: {Reason}. If they lapse, the queue hands them out again and the idempotency guard skips the repeats.")]
    private static partial void LogKeepHiddenFailed(ILogger logger, int count, string source, string reason, Exception ex);
}
