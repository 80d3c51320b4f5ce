namespace Pipeline.Core.Sources.Streams;

/// <summary>
/// The checkpoint of one shard when its records run on several lanes (ParallelizationFactor): records are tracked in
/// shard order as they are handed to lanes, and completed in any order as lanes finish them. The checkpoint moves only
/// past sequence numbers that every lane has finished (the highest sequence number with nothing unfinished at or
/// below it), so a crash after a checkpoint never skips a record; records finished above a gap are replayed, and the
/// idempotency guard skips them.
/// </summary>
/// <remarks>Thread-safe: lanes complete records concurrently while the poller tracks new ones.</remarks>
public sealed class ShardCheckpointTracker
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Entry> _order = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _bySequence = new(StringComparer.Ordinal);
    private string? _lastTracked;
    private string? _checkpoint;
    private string? _taken;

    public ShardCheckpointTracker(string shardId, string? initialCheckpoint = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(shardId);
        if (initialCheckpoint is not null && !SequenceNumbers.IsValid(initialCheckpoint))
        {
            throw new ArgumentException($"initial checkpoint '{initialCheckpoint}' of {shardId} is not a sequence number", nameof(initialCheckpoint));
        }

        ShardId = shardId;
        _checkpoint = initialCheckpoint;
        _taken = initialCheckpoint;
        _lastTracked = initialCheckpoint;
    }

    public string ShardId { get; }

    /// <summary>The highest sequence number up to which every tracked record is finished (null: nothing yet).</summary>
    public string? Checkpoint
    {
        get
        {
            lock (_gate)
            {
                return _checkpoint;
            }
        }
    }

    /// <summary>Records handed out and not yet finished, plus finished ones waiting behind an unfinished one.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _order.Count;
            }
        }
    }

    /// <summary>Tracks a record handed to a lane; sequence numbers must arrive in increasing shard order.</summary>
    public void Track(string sequenceNumber)
    {
        if (!SequenceNumbers.IsValid(sequenceNumber))
        {
            throw new ArgumentException($"'{sequenceNumber}' is not a sequence number", nameof(sequenceNumber));
        }

        lock (_gate)
        {
            if (_lastTracked is not null && SequenceNumbers.Compare(sequenceNumber, _lastTracked) <= 0)
            {
                throw new InvalidOperationException(
                    $"{ShardId}: record {sequenceNumber} arrived after {_lastTracked}; records of a shard must be tracked in increasing order");
            }

            _bySequence[sequenceNumber] = _order.AddLast(new Entry(sequenceNumber));
            _lastTracked = sequenceNumber;
        }
    }

    /// <summary>Marks a tracked record finished (succeeded, skipped, filtered, or given up on); returns the checkpoint.</summary>
    public string? Complete(string sequenceNumber)
    {
        lock (_gate)
        {
            if (!_bySequence.TryGetValue(sequenceNumber, out LinkedListNode<Entry>? node))
            {
                throw new InvalidOperationException($"{ShardId}: record {sequenceNumber} was never tracked, or was already completed");
            }

            node.Value.Finished = true;
            _bySequence.Remove(sequenceNumber);
            while (_order.First is { Value.Finished: true } first)
            {
                _checkpoint = first.Value.SequenceNumber;
                _order.RemoveFirst();
            }

            return _checkpoint;
        }
    }

    /// <summary>
    /// Forgets every unfinished record (a batch is retried from the checkpoint after a failure, or the lease moved), so
    /// the same sequence numbers can be tracked again.
    /// </summary>
    public void Rewind()
    {
        lock (_gate)
        {
            _order.Clear();
            _bySequence.Clear();
            _lastTracked = _checkpoint;
        }
    }

    /// <summary>The checkpoint if it moved since the last call (what the checkpointer should write now).</summary>
    public bool TryTakeNewCheckpoint(out string checkpoint)
    {
        lock (_gate)
        {
            if (_checkpoint is not null && (_taken is null || SequenceNumbers.Compare(_checkpoint, _taken) > 0))
            {
                _taken = _checkpoint;
                checkpoint = _checkpoint;
                return true;
            }

            checkpoint = string.Empty;
            return false;
        }
    }

    private sealed class Entry(string sequenceNumber)
    {
        public string SequenceNumber { get; } = sequenceNumber;

        public bool Finished { get; set; }
    }
}
