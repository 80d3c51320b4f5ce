namespace Pipeline.Core.Scaling;

/// <summary>
/// What a mapping shows the scaling controller. Counts are cumulative since the mapping started (the controller
/// takes differences per period); <see cref="InFlight"/> and <see cref="Buffered"/> are instantaneous.
/// </summary>
/// <param name="Polls">Receive calls that returned.</param>
/// <param name="EmptyPolls">Receive calls that returned nothing.</param>
/// <param name="FullPolls">Receive calls that returned as many records as were asked for.</param>
/// <param name="Batches">Batches finished.</param>
/// <param name="FullBatches">Batches that finished holding a full BatchSize.</param>
/// <param name="InFlight">Records routed to lanes and not yet acknowledged.</param>
/// <param name="Buffered">Records polled and waiting for a lane.</param>
public readonly record struct ScalingSignals(long Polls, long EmptyPolls, long FullPolls, long Batches, long FullBatches, long InFlight, long Buffered)
{
    /// <summary>This period's activity: counts as differences from <paramref name="earlier"/>, gauges as now.</summary>
    public ScalingSignals Since(ScalingSignals earlier) => this with
    {
        Polls = Polls - earlier.Polls,
        EmptyPolls = EmptyPolls - earlier.EmptyPolls,
        FullPolls = FullPolls - earlier.FullPolls,
        Batches = Batches - earlier.Batches,
        FullBatches = FullBatches - earlier.FullBatches,
    };

    /// <summary>Records arrived in the period (a poll returned some).</summary>
    public bool RecordsArrived => Polls > EmptyPolls;
}

/// <summary>The mapping as the controller sees it: its signals, and the one knob it turns.</summary>
public interface IScalingTarget
{
    /// <summary>The lane count last asked for.</summary>
    int Concurrency { get; }

    ScalingSignals ReadSignals();

    void SetConcurrency(int lanes);
}
