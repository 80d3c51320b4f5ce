using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Batching;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;
using Pipeline.Core.Polling;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Core.Hosting;

/// <summary>
/// One event source mapping on this host: source → poller → router → lanes (batcher → invoker) → function, with
/// acknowledgement back to the source. <see cref="RunAsync"/> runs until its token asks it to stop, then stops
/// polling, finishes each lane's batch in progress, gives unstarted records back, and returns: nothing is lost.
/// </summary>
public sealed class EventSourceMapping
{
    private readonly IRecordSource _source;
    private readonly IJobFunction _function;
    private readonly IdempotencyGuard _guard;
    private readonly IJobDecoder _decoder;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly LaneRouter _router;
    private readonly Channel<SourceRecord> _polled;
    private volatile bool _stopping;

    public EventSourceMapping(
        MappingOptions options,
        IRecordSource source,
        IJobFunction function,
        IdempotencyGuard guard,
        TimeProvider? timeProvider = null,
        IJobDecoder? decoder = null,
        ILoggerFactory? loggerFactory = null)
    {
        Options = options.Validate();
        options.Invoker.Validate(source.Acknowledger.VisibilityTimeout);
        _source = source;
        _function = function;
        _guard = guard;
        _decoder = decoder ?? JsonJobDecoder.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _polled = Channel.CreateBounded<SourceRecord>(new BoundedChannelOptions(options.PollBufferCapacity)
        {
            SingleReader = true,
            SingleWriter = false, // the poller, and the router's resize wake-up
        });
        _router = new LaneRouter(_polled.Reader, _decoder, options.LaneKey, options.Concurrency, CreateLane, _loggerFactory.CreateLogger<LaneRouter>());
        _router.AttachWakeUp(_polled.Writer);
    }

    public MappingOptions Options { get; }

    public MappingStatistics Statistics { get; } = new();

    /// <summary>The lanes' router (lane count, resize count).</summary>
    public LaneRouter Router => _router;

    /// <summary>Changes the number of lanes while running; keys move only after their old lane drains.</summary>
    public void SetConcurrency(int lanes)
    {
        if (lanes < 1 || lanes > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(lanes), lanes, $"Concurrency must be between 1 and 1,000 (got {lanes}).");
        }

        _router.RequestLaneCount(lanes);
    }

    /// <summary>Runs the mapping until <paramref name="stoppingToken"/> is cancelled, then shuts down gracefully.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        // Stages share an abort token that only a failing stage trips, so one broken stage cannot leave the others
        // blocked on a full channel.
        using var abort = new CancellationTokenSource();
        using CancellationTokenRegistration onStop = stoppingToken.Register(() => _stopping = true);
        var poller = new Poller(_source, _polled.Writer, Options.MaxRecordsPerPoll, _time, Statistics, _loggerFactory.CreateLogger<Poller>());

        using var pollStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, abort.Token);
        Task polling = Guard(poller.RunAsync(pollStop.Token), abort);
        Task routing = Guard(_router.RunAsync(abort.Token), abort);
        await Task.WhenAll(polling, routing).ConfigureAwait(false);
        await Guard(_router.WhenLanesStopped(), abort).ConfigureAwait(false);
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
            (batches, abort) => invoker.RunAsync(batches, () => _stopping, n => lane!.OnFinished(n), abort));
        return lane;
    }
}
