namespace Pipeline.Aws.Kinesis.Polling;

/// <summary>Live counters of one <see cref="ShardPoller"/>; safe to read from any thread.</summary>
public sealed class ShardPollerCounters
{
    private long _getRecordsCalls;
    private long _records;
    private long _batches;
    private long _millisBehindLatest = -1;
    private long _throttled;
    private long _expiredIterators;
    private long _transientErrors;
    private long _backPressureWaits;

    /// <summary>GetRecords calls made, failed ones included.</summary>
    public long GetRecordsCalls => Interlocked.Read(ref _getRecordsCalls);

    /// <summary>Records handed on to the channel (PolledEventCount).</summary>
    public long RecordsHandedOn => Interlocked.Read(ref _records);

    public long BatchesHandedOn => Interlocked.Read(ref _batches);

    /// <summary>MillisBehindLatest of the last successful call (the IteratorAge metric); -1 before the first.</summary>
    public long MillisBehindLatest => Interlocked.Read(ref _millisBehindLatest);

    /// <summary>ProvisionedThroughputExceeded answers.</summary>
    public long ThroughputExceeded => Interlocked.Read(ref _throttled);

    public long ExpiredIterators => Interlocked.Read(ref _expiredIterators);

    /// <summary>Transient failures (5xx, network) of GetRecords, GetShardIterator or ListShards.</summary>
    public long TransientErrors => Interlocked.Read(ref _transientErrors);

    /// <summary>Times the poller found the channel full and waited for room before its next call.</summary>
    public long BackPressureWaits => Interlocked.Read(ref _backPressureWaits);

    internal void Call() => Interlocked.Increment(ref _getRecordsCalls);

    internal void HandedOn(int records)
    {
        Interlocked.Add(ref _records, records);
        Interlocked.Increment(ref _batches);
    }

    internal void Behind(long millis) => Interlocked.Exchange(ref _millisBehindLatest, millis);

    internal void Throttled() => Interlocked.Increment(ref _throttled);

    internal void Expired() => Interlocked.Increment(ref _expiredIterators);

    internal void Transient() => Interlocked.Increment(ref _transientErrors);

    internal void BackPressure() => Interlocked.Increment(ref _backPressureWaits);
}
