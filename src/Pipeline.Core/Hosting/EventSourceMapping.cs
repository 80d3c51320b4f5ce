using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Batching;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;
using Pipeline.Core.Polling;
using Pipeline.Core.Records;
using Pipeline.Core.Scaling;
using Pipeline.Core.Sources;
using Pipeline.Core.Telemetry;

namespace Pipeline.Core.Hosting;

/// <summary>
/// One event source mapping on this host: source → poller → router → lanes (batcher → invoker) → function, with
/// acknowledgement back to the source. <see cref="RunAsync"/> runs until its token asks it to stop, then stops
/// polling, finishes each lane's batch in progress, gives unstarted records back, and returns: nothing is lost.
/// Records that match no filter of <see cref="MappingOptions.Filter"/> are deleted right after polling. With
/// <see cref="MappingOptions.Scaling"/> enabled, a <see cref="ScalingController"/> runs alongside and sets the lanes.
/// Records received but still waiting for a lane are kept hidden past half a visibility timeout (see ObservedSource).
/// Counts go to <see cref="Statistics"/> and to the <see cref="MappingMeter"/> instruments, tagged with <see cref="Name"/>.
/// </summary>
public sealed class EventSourceMapping
{
    private readonly ObservedSource _source;
    private readonly IJobFunction _function;
    private readonly IdempotencyGuard _guard;
    private readonly IJobDecoder _decoder;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly LaneRouter _router;
    private readonly Channel<SourceRecord> _polled;
    private readonly MappingMetrics _metrics;
    private volatile bool _stopping;
    private int _concurrency;

    public EventSourceMapping(
        MappingOptions options,
        IRecordSource source,
        IJobFunction function,
        IdempotencyGuard guard,
        TimeProvider? timeProvider = null,
        IJobDecoder? decoder = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
    {
        Options = options.Validate();
        options.Invoker.Validate(source.Acknowledger.VisibilityTimeout);
        Name = options.Name ?? source.Name;
        _metrics = new MappingMetrics(Name, meterFactory);
        Statistics = new MappingStatistics(_metrics);
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _source = new ObservedSource(source, Statistics, _time, _loggerFactory.CreateLogger<ObservedSource>());
        _function = function;
        _guard = guard;
        _decoder = decoder ?? AutoJobDecoder.Instance;
        _polled = Channel.CreateBounded<SourceRecord>(new BoundedChannelOptions(options.PollBufferCapacity)
        {
            SingleReader = true,
            SingleWriter = false, // the poller, and the router's resize wake-up
        });
        _concurrency = options.Scaling.Enabled ? options.Scaling.EffectiveInitialConcurrency : options.Concurrency;
        _router = new LaneRouter(_polled.Reader, _decoder, options.LaneKey, _concurrency, CreateLane, _loggerFactory.CreateLogger<LaneRouter>());
        _router.AttachWakeUp(_polled.Writer);
    }

    public MappingOptions Options { get; }

    /// <summary>The mapping's name: <see cref="MappingOptions.Name"/>, else the source's name.</summary>
    public string Name { get; }

    public MappingStatistics Statistics { get; }

    /// <summary>The lane count last asked for (by <see cref="SetConcurrency"/> or the scaling controller).</summary>
    public int Concurrency => Volatile.Read(ref _concurrency);

    /// <summary>The scaling controller of the current run; null when scaling is off or the mapping is not running.</summary>
    public ScalingController? Scaler { get; private set; }

    /// <summary>The lanes' router (lane count, resize count).</summary>
    public LaneRouter Router => _router;

    /// <summary>Changes the number of lanes while running; keys move only after their old lane drains.</summary>
    public void SetConcurrency(int lanes)
    {
        if (lanes < 1 || lanes > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(lanes), lanes, $"Concurrency must be between 1 and 1,000 (got {lanes}).");
        }

        Volatile.Write(ref _concurrency, lanes);
        _router.RequestLaneCount(lanes);
    }

    /// <summary>Runs the mapping until <paramref name="stoppingToken"/> is cancelled, then shuts down gracefully.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        // Stages share an abort token that only a failing stage trips, so one broken stage cannot leave the others
        // blocked on a full channel.
        using var abort = new CancellationTokenSource();
        using CancellationTokenRegistration onStop = stoppingToken.Register(() => _stopping = true);
        using IDisposable gauge = _metrics.StartObserving(() => _router.LaneCount);
        var poller = new Poller(_source, _polled.Writer, Options.MaxRecordsPerPoll, _time, Statistics, _loggerFactory.CreateLogger<Poller>(), Options.Filter);

        using var pollStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, abort.Token);
        Task polling = Guard(poller.RunAsync(pollStop.Token), abort);
        Task routing = Guard(_router.RunAsync(abort.Token), abort);
        Task scaling = Task.CompletedTask;
        if (Options.Scaling.Enabled)
        {
            Scaler = new ScalingController(Options.Scaling, new ScalingView(this), _time, _loggerFactory.CreateLogger<ScalingController>());
            scaling = Guard(Scaler.RunAsync(pollStop.Token), abort);
        }

        // Records waiting for a lane are kept hidden until the last lane has stopped (acknowledged or released them).
        using var keepStop = CancellationTokenSource.CreateLinkedTokenSource(abort.Token);
        Task keeping = _source.KeepHiddenAsync(keepStop.Token);
        try
        {
            await Task.WhenAll(polling, routing, scaling).ConfigureAwait(false);
            await Guard(_router.WhenLanesStopped(), abort).ConfigureAwait(false);
        }
        finally
        {
            await keepStop.CancelAsync().ConfigureAwait(false);
            await keeping.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task Guard(Task stage, CancellationTokenSource abort)
    {
        try
        {
            await stage.ConfigureAwait(false);
        }
        catch
        {
            await abort.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private Lane CreateLane(int id)
    {
        var invoker = new BatchInvoker(_function, _guard, _source.Acknowledger, Options.Invoker, Options.Batching, _time, Statistics, _loggerFactory.CreateLogger<BatchInvoker>());
        Lane? lane = null;
        lane = new Lane(id, Options.EffectiveLaneCapacity, Options.Batching, _time,
            (batches, abort) => invoker.RunAsync(batches, () => _stopping, n => OnBatchFinished(lane!, n), abort));
        return lane;
    }

    private void OnBatchFinished(Lane lane, int count)
    {
        // A batch that held a full BatchSize was cut by size: its lane had more records waiting.
        Statistics.AddFinishedBatch(count >= Options.Batching.BatchSize);
        lane.OnFinished(count);
    }

    private ScalingSignals ReadSignals()
    {
        long inFlight = 0;
        foreach (Lane lane in _router.Lanes)
        {
            inFlight += lane.Pending;
        }

        MappingStatistics s = Statistics;
        return new ScalingSignals(s.PollCount, s.EmptyPollCount, s.FullPollCount, s.BatchCount, s.FullBatchCount, inFlight, _polled.Reader.Count);
    }

    /// <summary>The controller's view of this mapping, kept off the mapping's public surface.</summary>
    private sealed class ScalingView(EventSourceMapping mapping) : IScalingTarget
    {
        public int Concurrency => mapping.Concurrency;

        public ScalingSignals ReadSignals() => mapping.ReadSignals();

        public void SetConcurrency(int lanes) => mapping.SetConcurrency(lanes);
    }
}
