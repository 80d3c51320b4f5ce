using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Core.Records;

namespace Pipeline.Core.Lanes;

/// <summary>
/// Decodes each polled record and routes it to a lane by consistent hash of its key. The router is the only writer
/// to the lanes, so it alone applies lane-count changes: before a key moves, the lane that owned it finishes every
/// record already routed there (its in-flight batch included), which keeps the order of every key across a resize.
/// </summary>
public sealed partial class LaneRouter
{
    private readonly ChannelReader<SourceRecord> _input;
    private readonly IJobDecoder _decoder;
    private readonly LaneKeySource _keySource;
    private readonly Func<int, Lane> _createLane;
    private readonly ILogger _logger;
    private readonly List<Lane> _lanes = [];
    private readonly List<Task> _laneTasks = [];
    private readonly Lock _gate = new();
    private ConsistentHashRing _ring;
    private int _requestedLanes;

    public LaneRouter(ChannelReader<SourceRecord> input, IJobDecoder decoder, LaneKeySource keySource, int lanes, Func<int, Lane> createLane, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        _input = input;
        _decoder = decoder;
        _keySource = keySource;
        _createLane = createLane;
        _logger = logger;
        _ring = new ConsistentHashRing(lanes);
        _requestedLanes = lanes;
    }

    /// <summary>Lanes currently receiving records.</summary>
    public int LaneCount => Volatile.Read(ref _ring).LaneCount;

    /// <summary>How many lane-count changes have been applied (for observers and tests).</summary>
    public int ResizeCount { get; private set; }

    /// <summary>Asks for a new lane count; the router applies it between records.</summary>
    public void RequestLaneCount(int lanes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        Volatile.Write(ref _requestedLanes, lanes);

        // Wake an idle router without a second wait source on its hot path. If the channel is full, records are
        // flowing and the router sees the request before its next record anyway.
        _wakeUp?.TryWrite(WakeUp);
    }

    /// <summary>Lets the router be woken while idle: the writer of its input channel.</summary>
    internal void AttachWakeUp(ChannelWriter<SourceRecord> writer) => _wakeUp = writer;

    private ChannelWriter<SourceRecord>? _wakeUp;

    /// <summary>A record that carries nothing; it only wakes the router to apply a resize.</summary>
    private static readonly SourceRecord WakeUp = new() { Id = "wake-up", Body = ReadOnlyMemory<byte>.Empty, Source = "router" };

    /// <summary>Routes until the input completes, then completes every lane's input.</summary>
    public async Task RunAsync(CancellationToken abort)
    {
        StartLanes(0, _ring.LaneCount, abort);
        try
        {
            while (true)
            {
                while (_input.TryRead(out SourceRecord? record))
                {
                    if (Volatile.Read(ref _requestedLanes) != _ring.LaneCount)
                    {
                        await ResizeAsync(abort).ConfigureAwait(false);
                    }

                    if (ReferenceEquals(record, WakeUp))
                    {
                        continue;
                    }

                    DecodedRecord decoded = Decode(record);
                    Lane lane = _lanes[_ring.GetLane(decoded.LaneKey)];
                    lane.OnRouted();
                    if (!lane.Writer.TryWrite(decoded))
                    {
                        await lane.Writer.WriteAsync(decoded, abort).ConfigureAwait(false);
                    }
                }

                if (Volatile.Read(ref _requestedLanes) != _ring.LaneCount)
                {
                    await ResizeAsync(abort).ConfigureAwait(false);
                    continue;
                }

                // Idle: a resize request wakes this wait through the wake-up record (see RequestLaneCount).
                if (!await _input.WaitToReadAsync(abort).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        finally
        {
            foreach (Lane lane in _lanes)
            {
                lane.Complete();
            }
        }
    }

    /// <summary>Completes when every lane started so far has stopped.</summary>
    public Task WhenLanesStopped()
    {
        lock (_gate)
        {
            return Task.WhenAll(_laneTasks.ToArray());
        }
    }

    /// <summary>Snapshot of the lanes (index = lane id), retired ones included until they stop.</summary>
    public IReadOnlyList<Lane> Lanes
    {
        get
        {
            lock (_gate)
            {
                return _lanes.ToArray();
            }
        }
    }

    private DecodedRecord Decode(SourceRecord record)
    {
        bool ok = _decoder.TryDecode(record.Body.Span, out Job? job, out string? error);
        string fallbackKey = record.PartitionKey.Length > 0 ? record.PartitionKey : record.Id;
        if (!ok || job is null)
        {
            return DecodedRecord.Invalid(record, error ?? "body did not decode to a job", fallbackKey);
        }

        string laneKey = _keySource == LaneKeySource.JobKey ? job.Key : fallbackKey;
        return DecodedRecord.Valid(record, job, laneKey);
    }

    private async Task ResizeAsync(CancellationToken abort)
    {
        int target = Volatile.Read(ref _requestedLanes);
        ConsistentHashRing current = _ring;
        if (target == current.LaneCount)
        {
            return;
        }

        var next = new ConsistentHashRing(target, current.VirtualNodesPerLane);
        if (target > current.LaneCount)
        {
            StartLanes(current.LaneCount, target, abort);
        }

        IReadOnlySet<int> losing = current.LanesLosingKeysTo(next);
        foreach (int id in losing)
        {
            await _lanes[id].WaitIdleAsync(abort).ConfigureAwait(false);
        }

        Volatile.Write(ref _ring, next);
        for (int id = target; id < current.LaneCount; id++)
        {
            _lanes[id].Complete();
        }

        if (target < current.LaneCount)
        {
            lock (_gate)
            {
                _lanes.RemoveRange(target, current.LaneCount - target);
            }
        }

        ResizeCount++;
        LogResized(_logger, current.LaneCount, target, losing.Count);
    }

    private void StartLanes(int from, int to, CancellationToken abort)
    {
        lock (_gate)
        {
            for (int id = from; id < to; id++)
            {
                Lane lane = _createLane(id);
                if (id < _lanes.Count)
                {
                    _lanes[id] = lane;
                }
                else
                {
                    _lanes.Add(lane);
                }

                _laneTasks.Add(lane.RunAsync(abort));
            }
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Lanes changed from {From} to {To}; {Drained} lanes drained before their keys moved")]
    private static partial void LogResized(ILogger logger, int from, int to, int drained);
}
