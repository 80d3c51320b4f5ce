using Pipeline.Core.Records;

namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// An in-memory queue with SQS semantics: visibility timeout, ApproximateReceiveCount, a new receipt handle per
/// receive, long polling, and a redrive policy that dead-letters on the receive attempt after the last allowed one.
/// It exists so the pipeline runs on one machine with nothing to install, yet retries, backoff and dead-lettering
/// behave as they will on AWS; because it has SQS's semantics, the SQS poller of a later issue plugs into the same
/// <see cref="IRecordSource"/> seam (through <see cref="EmbeddedQueueSource"/>) and the engine cannot tell them apart.
/// </summary>
/// <remarks>
/// One lock guards all state. Every operation under it is short (O(1), or O(log n) for the in-flight deadlines) and
/// allocates little more than the records it returns, so one lock carries millions of send+receive+delete a second
/// on two cores; finer locking would buy little and make the visibility rules much harder to keep exact. Waiting
/// (long polls, <see cref="WaitUntilEmptyAsync"/>) is signal-based and never holds the lock. All time comes from the
/// injected <see cref="TimeProvider"/>, so tests drive visibility and long polls with a fake clock.
/// </remarks>
public sealed class EmbeddedQueue
{
    private const long ArmingSlackTicks = TimeSpan.TicksPerMillisecond;

    private static readonly IReadOnlyDictionary<string, string> NoAttributes = new Dictionary<string, string>();

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly EmbeddedQueue? _deadLetterQueue;
    private readonly Dictionary<string, EmbeddedMessage> _byHandle = new(StringComparer.Ordinal);
    private readonly VisibilityHeap _inFlight = new();
    private readonly long _visibilityTicks;
    private readonly int _maxReceiveCount;
    private readonly int _maximumMessageSize;

    // Visible messages, oldest first, as an intrusive list so a delete by a still-valid handle unlinks in O(1).
    private EmbeddedMessage? _head;
    private EmbeddedMessage? _tail;
    private int _visibleCount;
    private long _sequence;

    // Created only when someone waits, completed and dropped on the next change they wait for.
    private TaskCompletionSource? _available;
    private TaskCompletionSource? _empty;

    public EmbeddedQueue(EmbeddedQueueOptions options, TimeProvider timeProvider, EmbeddedQueue? deadLetterQueue = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();

        Options = options;
        SourceName = EmbeddedQueueConstants.SourcePrefix + options.Name;
        _time = timeProvider;
        _deadLetterQueue = deadLetterQueue;
        _visibilityTicks = options.VisibilityTimeout.Ticks;
        _maxReceiveCount = options.MaxReceiveCount;
        _maximumMessageSize = options.MaximumMessageSize;
    }

    public EmbeddedQueueOptions Options { get; }

    public string Name => Options.Name;

    /// <summary><c>embedded://{Name}</c>: the <see cref="SourceRecord.Source"/> of every record this queue hands out.</summary>
    public string SourceName { get; }

    public TimeSpan VisibilityTimeout => Options.VisibilityTimeout;

    /// <summary>Where messages go after <see cref="EmbeddedQueueOptions.MaxReceiveCount"/> receives; null keeps redelivering them.</summary>
    public EmbeddedQueue? DeadLetterQueue => _deadLetterQueue;

    /// <summary>Messages that a receive could take now (ApproximateNumberOfMessages).</summary>
    public int ApproximateNumberOfMessages
    {
        get
        {
            long now = NowTicks();
            lock (_gate)
            {
                PromoteExpiredLocked(now);
                return _visibleCount;
            }
        }
    }

    /// <summary>Messages received and not yet deleted whose visibility timeout runs (ApproximateNumberOfMessagesNotVisible).</summary>
    public int ApproximateNumberOfMessagesNotVisible
    {
        get
        {
            long now = NowTicks();
            lock (_gate)
            {
                PromoteExpiredLocked(now);
                return _inFlight.Count;
            }
        }
    }

    /// <summary>True when the queue holds no message, visible or in flight.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return IsEmptyLocked;
            }
        }
    }

    private bool IsEmptyLocked => _visibleCount == 0 && _inFlight.Count == 0;

    /// <summary>Adds a message; returns its new message id.</summary>
    /// <exception cref="MessageTooLargeException">The body is larger than MaximumMessageSize.</exception>
    public string Send(ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? attributes = null)
    {
        EmbeddedMessage message = CreateMessage(body, attributes, _time.GetUtcNow());
        lock (_gate)
        {
            AppendVisibleLocked(message);
        }

        return message.Id;
    }

    /// <summary>Adds several messages at once; none is added when any is too large.</summary>
    public IReadOnlyList<string> SendBatch(IReadOnlyList<ReadOnlyMemory<byte>> bodies)
    {
        ArgumentNullException.ThrowIfNull(bodies);
        for (int i = 0; i < bodies.Count; i++)
        {
            CheckSize(bodies[i].Length);
        }

        DateTimeOffset now = _time.GetUtcNow();
        var messages = new EmbeddedMessage[bodies.Count];
        var ids = new string[bodies.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = CreateMessage(bodies[i], null, now);
            ids[i] = messages[i].Id;
        }

        lock (_gate)
        {
            for (int i = 0; i < messages.Length; i++)
            {
                AppendVisibleLocked(messages[i]);
            }
        }

        return ids;
    }

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> (1 to 10) visible messages, hiding each for the visibility timeout.
    /// When none is visible, waits up to <paramref name="waitTime"/> (0 to 20 s) for one to be sent or to become visible
    /// again, and returns an empty list when the wait ends without one.
    /// </summary>
    public ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxMessages, TimeSpan waitTime, CancellationToken cancellationToken)
    {
        if (maxMessages is < 1 or > EmbeddedQueueConstants.MaxMessagesPerReceive)
        {
            throw new ArgumentOutOfRangeException(nameof(maxMessages), maxMessages, $"maxMessages must be between 1 and {EmbeddedQueueConstants.MaxMessagesPerReceive} (SQS MaxNumberOfMessages).");
        }

        if (waitTime < TimeSpan.Zero || waitTime > EmbeddedQueueConstants.MaxReceiveWaitTime)
        {
            throw new ArgumentOutOfRangeException(nameof(waitTime), waitTime, "waitTime must be between 0 s and 20 s (SQS WaitTimeSeconds).");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<IReadOnlyList<SourceRecord>>(cancellationToken);
        }

        bool mayWait = waitTime > TimeSpan.Zero;
        IReadOnlyList<SourceRecord> records = TryReceive(maxMessages, mayWait, out Task? signal, out long now, out long nextVisible);
        if (records.Count > 0 || !mayWait)
        {
            return new ValueTask<IReadOnlyList<SourceRecord>>(records);
        }

        return WaitForMessagesAsync(maxMessages, signal!, now + waitTime.Ticks, nextVisible, cancellationToken);
    }

    /// <summary>Deletes the message whose latest receipt handle this is; false for a stale or unknown handle.</summary>
    public bool Delete(string receiptHandle)
    {
        ArgumentNullException.ThrowIfNull(receiptHandle);
        lock (_gate)
        {
            bool deleted = DeleteLocked(receiptHandle);
            SignalIfEmptyLocked();
            return deleted;
        }
    }

    /// <summary>Deletes each message by its latest receipt handle; returns how many were deleted.</summary>
    public int DeleteBatch(IReadOnlyList<string> receiptHandles)
    {
        ArgumentNullException.ThrowIfNull(receiptHandles);
        int deleted = 0;
        lock (_gate)
        {
            for (int i = 0; i < receiptHandles.Count; i++)
            {
                string? handle = receiptHandles[i];
                if (handle is not null && DeleteLocked(handle))
                {
                    deleted++;
                }
            }

            SignalIfEmptyLocked();
        }

        return deleted;
    }

    /// <summary>
    /// Sets how long an in-flight message stays hidden, counted from now (0 makes it visible at once). Only the latest
    /// handle of a message still in flight is accepted; otherwise returns false, as SQS refuses a message not in flight.
    /// <paramref name="lastError"/>, when given, is kept as the message's last failure reason (reported when it is dead-lettered).
    /// </summary>
    public bool ChangeVisibility(string receiptHandle, TimeSpan visibility, string? lastError = null)
    {
        ArgumentNullException.ThrowIfNull(receiptHandle);
        if (visibility < TimeSpan.Zero || visibility > EmbeddedQueueConstants.MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(visibility), visibility, "visibility must be between 0 s and 12 h (SQS VisibilityTimeout).");
        }

        long now = NowTicks();
        lock (_gate)
        {
            if (!_byHandle.TryGetValue(receiptHandle, out EmbeddedMessage? message) || !message.InFlight || message.VisibleAtTicks <= now)
            {
                return false;
            }

            if (lastError is not null)
            {
                message.LastError = lastError;
            }

            if (visibility == TimeSpan.Zero)
            {
                _inFlight.Remove(message);
                AppendVisibleLocked(message);
            }
            else
            {
                message.VisibleAtTicks = now + visibility.Ticks;
                _inFlight.Update(message);
                WakeIfEarliestLocked(message);
            }

            return true;
        }
    }

    /// <summary>Completes once the queue holds no message at all, visible or in flight.</summary>
    public Task WaitUntilEmptyAsync(CancellationToken cancellationToken)
    {
        Task task;
        lock (_gate)
        {
            if (IsEmptyLocked)
            {
                return Task.CompletedTask;
            }

            _empty ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _empty.Task;
        }

        return task.WaitAsync(cancellationToken);
    }

    /// <summary>A snapshot of every message held (visible ones first, then those in flight), without receiving any.</summary>
    public IReadOnlyList<DeadLetter> PeekAll()
    {
        lock (_gate)
        {
            var snapshot = new DeadLetter[_visibleCount + _inFlight.Count];
            int i = 0;
            for (EmbeddedMessage? m = _head; m is not null; m = m.Next)
            {
                snapshot[i++] = m.ToSnapshot();
            }

            for (int h = 0; h < _inFlight.Count; h++)
            {
                snapshot[i++] = _inFlight[h].ToSnapshot();
            }

            return snapshot;
        }
    }

    /// <summary>
    /// Moves every message held, in flight or not, to <paramref name="target"/>, as a DLQ redrive does: each arrives
    /// visible as a new message (new message id) with the same body and attributes, a receive count of 0 and no
    /// failure reason. Receipt handles
    /// given out before the move stop working. Returns how many moved.
    /// </summary>
    public int MoveAllTo(EmbeddedQueue target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (ReferenceEquals(target, this))
        {
            throw new ArgumentException("a queue cannot redrive into itself", nameof(target));
        }

        EmbeddedMessage[] moving;
        lock (_gate)
        {
            moving = new EmbeddedMessage[_visibleCount + _inFlight.Count];
            int i = 0;
            for (EmbeddedMessage? m = _head; m is not null; m = m.Next)
            {
                moving[i++] = m;
            }

            for (int h = 0; h < _inFlight.Count; h++)
            {
                moving[i++] = _inFlight[h];
            }

            _head = null;
            _tail = null;
            _visibleCount = 0;
            _inFlight.Clear();
            _byHandle.Clear();
            SignalIfEmptyLocked();
        }

        // Outside our lock: taking the target's lock inside it could deadlock two queues redriving into each other.
        target.AcceptRedriven(moving);
        return moving.Length;
    }

    /// <summary>The attribute that names a message's group (as SQS FIFO's MessageGroupId); it becomes the record's partition key.</summary>
    public const string MessageGroupIdAttribute = "MessageGroupId";

    private long NowTicks() => _time.GetUtcNow().UtcTicks;

    private EmbeddedMessage CreateMessage(ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? attributes, DateTimeOffset sentAt)
    {
        CheckSize(body.Length);

        // Copies, as SQS does: a caller reusing or pooling its buffer must not change a message already sent.
        ReadOnlyMemory<byte> ownBody = body.IsEmpty ? ReadOnlyMemory<byte>.Empty : body.ToArray();
        IReadOnlyDictionary<string, string> ownAttributes = attributes is null || attributes.Count == 0
            ? NoAttributes
            : new Dictionary<string, string>(attributes, StringComparer.Ordinal);
        return new EmbeddedMessage(OpaqueIds.NewMessageId(), ownBody, ownAttributes, sentAt);
    }

    private void CheckSize(int size)
    {
        if (size > _maximumMessageSize)
        {
            throw new MessageTooLargeException(size, _maximumMessageSize);
        }
    }

    private IReadOnlyList<SourceRecord> TryReceive(int maxMessages, bool registerWaiter, out Task? signal, out long nowTicks, out long nextVisibleTicks)
    {
        DateTimeOffset now = _time.GetUtcNow();
        nowTicks = now.UtcTicks;
        signal = null;
        nextVisibleTicks = long.MaxValue;
        SourceRecord[]? records = null;
        int taken = 0;
        List<EmbeddedMessage>? deadLetters = null;

        lock (_gate)
        {
            PromoteExpiredLocked(nowTicks);
            if (_visibleCount > 0)
            {
                records = new SourceRecord[Math.Min(maxMessages, _visibleCount)];
            }

            EmbeddedMessage? message = _head;
            while (message is not null && taken < maxMessages)
            {
                EmbeddedMessage? next = message.Next;
                RemoveVisibleLocked(message);

                // The redrive check runs on receive, not on a timer, exactly like SQS: a message past its last
                // allowed receive stays put until someone tries to receive it again.
                if (_deadLetterQueue is not null && message.ReceiveCount >= _maxReceiveCount)
                {
                    ForgetHandleLocked(message);
                    (deadLetters ??= []).Add(message);
                }
                else
                {
                    records![taken++] = DeliverLocked(message, nowTicks);
                }

                message = next;
            }

            if (taken == 0 && registerWaiter)
            {
                _available ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signal = _available.Task;
                nextVisibleTicks = _inFlight.Count > 0 ? _inFlight.Min.VisibleAtTicks : long.MaxValue;
            }

            if (deadLetters is not null)
            {
                SignalIfEmptyLocked();
            }
        }

        // Outside our lock, for the same reason as in MoveAllTo.
        if (deadLetters is not null)
        {
            _deadLetterQueue!.AcceptDeadLetters(deadLetters, now);
        }

        if (taken == 0)
        {
            return Array.Empty<SourceRecord>();
        }

        if (taken < records!.Length)
        {
            Array.Resize(ref records, taken);
        }

        return records;
    }

    private async ValueTask<IReadOnlyList<SourceRecord>> WaitForMessagesAsync(int maxMessages, Task signal, long deadlineTicks, long nextVisibleTicks, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Wake at the end of the wait, or when the earliest in-flight message becomes visible, whichever is first.
            long now = NowTicks();
            long wakeAt = Math.Min(deadlineTicks, nextVisibleTicks);
            if (wakeAt > now)
            {
                using var stopTimer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task delay = Task.Delay(TimeSpan.FromTicks(wakeAt - now), _time, stopTimer.Token);

                // A timer counts from when it is armed; if the clock jumped since we read it (a stalled thread, or a
                // test advancing its fake clock), the timer would fire late, so re-plan instead of oversleeping.
                if (NowTicks() - now <= ArmingSlackTicks)
                {
                    await Task.WhenAny(signal, delay).ConfigureAwait(false);
                }

                // Drops the timer at once when the signal won, instead of leaving it armed for up to 20 s.
                await stopTimer.CancelAsync().ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            bool lastTry = NowTicks() >= deadlineTicks;
            IReadOnlyList<SourceRecord> records = TryReceive(maxMessages, !lastTry, out Task? nextSignal, out _, out nextVisibleTicks);
            if (records.Count > 0 || lastTry)
            {
                return records;
            }

            signal = nextSignal!;
        }
    }

    private SourceRecord DeliverLocked(EmbeddedMessage message, long nowTicks)
    {
        message.ReceiveCount++;
        if (message.ReceiptHandle is not null)
        {
            _byHandle.Remove(message.ReceiptHandle);
        }

        string handle = OpaqueIds.NewReceiptHandle();
        message.ReceiptHandle = handle;
        _byHandle.Add(handle, message);
        message.InFlight = true;
        message.VisibleAtTicks = nowTicks + _visibilityTicks;
        _inFlight.Add(message);
        WakeIfEarliestLocked(message);

        return new SourceRecord
        {
            Id = message.Id,
            Body = message.Body,
            Attributes = message.Attributes,
            PartitionKey = message.Attributes.TryGetValue(MessageGroupIdAttribute, out string? group) ? group : string.Empty,
            ReceiveCount = message.ReceiveCount,
            Source = SourceName,
            ReceiptHandle = handle,
            SentAt = message.SentAt,
        };
    }

    private bool DeleteLocked(string receiptHandle)
    {
        // The map holds only the latest handle of each message held, so finding the handle is what makes it valid.
        if (!_byHandle.Remove(receiptHandle, out EmbeddedMessage? message))
        {
            return false;
        }

        message.ReceiptHandle = null;
        if (message.InFlight)
        {
            _inFlight.Remove(message);
            message.InFlight = false;
        }
        else
        {
            // Its visibility ran out but nobody received it again yet: SQS still honours the latest handle.
            RemoveVisibleLocked(message);
        }

        return true;
    }

    private void ForgetHandleLocked(EmbeddedMessage message)
    {
        if (message.ReceiptHandle is not null)
        {
            _byHandle.Remove(message.ReceiptHandle);
            message.ReceiptHandle = null;
        }
    }

    private void PromoteExpiredLocked(long nowTicks)
    {
        while (_inFlight.Count > 0 && _inFlight.Min.VisibleAtTicks <= nowTicks)
        {
            EmbeddedMessage message = _inFlight.Min;
            _inFlight.Remove(message);
            AppendVisibleLocked(message);
        }
    }

    private void AppendVisibleLocked(EmbeddedMessage message)
    {
        message.InFlight = false;
        message.Sequence = ++_sequence;
        message.Next = null;
        message.Previous = _tail;
        if (_tail is null)
        {
            _head = message;
        }
        else
        {
            _tail.Next = message;
        }

        _tail = message;
        _visibleCount++;
        SignalAvailableLocked();
    }

    private void RemoveVisibleLocked(EmbeddedMessage message)
    {
        if (message.Previous is null)
        {
            _head = message.Next;
        }
        else
        {
            message.Previous.Next = message.Next;
        }

        if (message.Next is null)
        {
            _tail = message.Previous;
        }
        else
        {
            message.Next.Previous = message.Previous;
        }

        message.Previous = null;
        message.Next = null;
        _visibleCount--;
    }

    /// <summary>A long poll sleeps until the earliest deadline it saw; a new, earlier one must wake it to re-plan.</summary>
    private void WakeIfEarliestLocked(EmbeddedMessage message)
    {
        if (_available is not null && message.HeapIndex == 0)
        {
            SignalAvailableLocked();
        }
    }

    private void SignalAvailableLocked()
    {
        TaskCompletionSource? waiters = _available;
        if (waiters is not null)
        {
            _available = null;
            waiters.TrySetResult();
        }
    }

    private void SignalIfEmptyLocked()
    {
        TaskCompletionSource? waiters = _empty;
        if (waiters is not null && IsEmptyLocked)
        {
            _empty = null;
            waiters.TrySetResult();
        }
    }

    private void AcceptDeadLetters(List<EmbeddedMessage> messages, DateTimeOffset movedAt)
    {
        lock (_gate)
        {
            foreach (EmbeddedMessage message in messages)
            {
                // Keeps id, body, attributes, receive count and last error: the dead letter says why it failed.
                message.MovedAt = movedAt;
                AppendVisibleLocked(message);
            }
        }
    }

    private void AcceptRedriven(EmbeddedMessage[] messages)
    {
        lock (_gate)
        {
            foreach (EmbeddedMessage moved in messages)
            {
                // A redriven message is a new message (new id, receive count 0), so the idempotency rule
                // "FAILED_PERMANENT fails fast only for the same message" lets a redrive start fresh.
                var message = new EmbeddedMessage(OpaqueIds.NewMessageId(), moved.Body, moved.Attributes, moved.SentAt);
                AppendVisibleLocked(message);
            }
        }
    }
}
