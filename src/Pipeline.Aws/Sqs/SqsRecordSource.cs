using System.Globalization;
using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Aws.Sqs;

/// <summary>
/// An SQS queue on the poller's seam, with the semantics of Lambda's SQS event source mapping (and of our embedded
/// queue): long-poll receives with every system attribute, delete what succeeded, change the visibility of what
/// failed by the invoker's backoff, extend the visibility of running work, and make unstarted work visible at once.
/// </summary>
/// <remarks>
/// <para>
/// Receives: <see cref="ReceiveAsync"/> keeps up to ceil(max / <see cref="SqsSourceOptions.MaxMessagesPerReceive"/>)
/// ReceiveMessage calls outstanding (at most <see cref="SqsSourceOptions.MaxConcurrentReceives"/>) and returns as
/// soon as any of them answers, with what every finished call got. Calls still long-polling stay outstanding for the
/// next receive, so one slow long poll never holds back messages already received, and a backlog is drained by several
/// calls side by side. A max of 10 or less is exactly one call at a time. Messages beyond max wait for the next call.
/// When the caller's token is cancelled (shutdown), outstanding calls are left to finish (within WaitTimeSeconds, so
/// a shorter wait means a faster shutdown) and whatever they or the carry-over held is made visible again at once.
/// </para>
/// <para>
/// Deletes of concurrent acknowledgements (one per lane) are merged into full DeleteMessageBatch calls: a full 10
/// goes at once, a partial batch only while no other partial one is in flight (group commit), so lanes whose batches
/// are not full share delete calls under load, and an idle queue's delete is not delayed.
/// </para>
/// <para>
/// Acknowledgement failures never throw per message. An entry that SQS rejects as the sender's fault (a stale or
/// invalid receipt handle: the message was already deleted, or its visibility ran out and it was received again) is
/// logged and counted in <see cref="StaleAcknowledgements"/>, not retried: the same request cannot succeed, and the
/// message, if it still exists, simply reappears after its visibility timeout (a completed job is then skipped by the
/// idempotency guard). Entries SQS fails on its side are retried with backoff up to
/// <see cref="SqsSourceOptions.EntryRetryAttempts"/> times, then logged and counted in
/// <see cref="FailedAcknowledgements"/>; those messages also reappear, so nothing is lost.
/// </para>
/// </remarks>
public sealed partial class SqsRecordSource : IRecordSource, IBatchAcknowledger, IAsyncDisposable
{
    private static readonly List<string> AllAttributes = ["All"];
    private static readonly SourceRecord[] NoRecords = [];
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly IAmazonSQS _sqs;
    private readonly SqsSourceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _receiveGate = new(1, 1);
    private readonly List<Task<SourceRecord[]>> _outstanding = [];
    private readonly Queue<SourceRecord> _carry = new();
    private readonly SqsDeleteCoalescer<Entry> _deletes;
    private CancellationTokenSource _receiveStop = new();
    private long _stale;
    private long _failed;
    private long _retried;

    public SqsRecordSource(IAmazonSQS sqs, SqsQueueInfo queue, SqsSourceOptions options, TimeProvider? timeProvider = null, ILogger<SqsRecordSource>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(options);
        _sqs = sqs;
        Queue = queue;
        _options = options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        VisibilityTimeout = options.VisibilityTimeout ?? queue.VisibilityTimeout;
        Name = queue.Arn ?? queue.Url;
        // Deletes run to the end even at shutdown (as the embedded queue's do): a dropped delete only causes a redelivery.
        _deletes = new SqsDeleteCoalescer<Entry>(chunk => ApplyAsync(Operation.Delete, chunk, CancellationToken.None));
    }

    /// <summary>Resolves <see cref="SqsSourceOptions.Queue"/> (URL, name or ARN), reads its attributes, and creates the source.</summary>
    public static async Task<SqsRecordSource> CreateAsync(IAmazonSQS sqs, SqsSourceOptions options, TimeProvider? timeProvider = null, ILogger<SqsRecordSource>? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        SqsQueueInfo queue = await SqsQueues.DescribeAsync(sqs, options.Validate().Queue, cancellationToken).ConfigureAwait(false);
        return new SqsRecordSource(sqs, queue, options, timeProvider, logger);
    }

    public SqsQueueInfo Queue { get; }

    /// <summary>The queue's ARN (as Lambda's eventSourceARN), or its URL when the endpoint reports no ARN.</summary>
    public string Name { get; }

    public IBatchAcknowledger Acknowledger => this;

    /// <summary>The override in the options, else the queue's VisibilityTimeout attribute.</summary>
    public TimeSpan VisibilityTimeout { get; }

    /// <summary>Entries SQS refused as stale or invalid receipt handles (not retried; the message reappears if it still exists).</summary>
    public long StaleAcknowledgements => Interlocked.Read(ref _stale);

    /// <summary>Entries still failing after the bounded retries (the message reappears after its visibility timeout).</summary>
    public long FailedAcknowledgements => Interlocked.Read(ref _failed);

    /// <summary>Entries that SQS failed on its side and that were sent again.</summary>
    public long RetriedEntries => Interlocked.Read(ref _retried);

    public async ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        await _receiveGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_carry.Count == 0)
            {
                int perCall = _options.MaxMessagesPerReceive;
                int wanted = Math.Min(_options.MaxConcurrentReceives, (maxRecords + perCall - 1) / perCall);
                while (_outstanding.Count < wanted)
                {
                    _outstanding.Add(ReceiveOnceAsync(Math.Min(perCall, maxRecords), _receiveStop.Token));
                }

                try
                {
                    await Task.WhenAny(_outstanding).WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    await StopReceivingAsync().ConfigureAwait(false);
                    throw;
                }

                Harvest();
            }

            return TakeFromCarry(maxRecords);
        }
        finally
        {
            _receiveGate.Release();
        }
    }

    public async ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        List<Entry>? deletes = null;
        List<Entry>? changes = null;
        for (int i = 0; i < results.Count; i++)
        {
            ItemResult result = results[i];
            if (result.Record.ReceiptHandle is null)
            {
                Interlocked.Increment(ref _stale);
                LogNoHandle(_logger, result.Record.Id, Name);
                continue;
            }

            if (!result.IsFailure)
            {
                // Succeeded, Skipped, and any later outcome that is not a failure (e.g. filtered out): delete.
                (deletes ??= new List<Entry>(results.Count)).Add(new Entry(result.Record, 0));
                continue;
            }

            // PermanentFailure and Released come back at once (their delay is zero); Retry and Deferred use the
            // invoker's backoff (SourceBackoff by receive count, or the other owner's claim expiry).
            TimeSpan delay = result.Outcome is ItemOutcome.Released or ItemOutcome.PermanentFailure ? TimeSpan.Zero : result.Delay;
            (changes ??= new List<Entry>(results.Count)).Add(new Entry(result.Record, ToSeconds(delay)));
        }

        Task deleting = deletes is null ? Task.CompletedTask : _deletes.EnqueueAsync(deletes);
        Task changing = changes is null ? Task.CompletedTask : ApplyAsync(Operation.ChangeVisibility, changes, cancellationToken);
        await Task.WhenAll(deleting, changing).ConfigureAwait(false);
    }

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) =>
        new(ChangeAllAsync(records, ToSeconds(visibility), cancellationToken));

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        new(ChangeAllAsync(records, 0, cancellationToken));

    /// <summary>Cancels outstanding receives and makes whatever they held visible again.</summary>
    public async ValueTask DisposeAsync()
    {
        await _receiveGate.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopReceivingAsync().ConfigureAwait(false);
        }
        finally
        {
            _receiveGate.Release();
        }

        _receiveStop.Dispose();
    }

    private async Task<SourceRecord[]> ReceiveOnceAsync(int count, CancellationToken cancellationToken)
    {
        var request = new ReceiveMessageRequest
        {
            QueueUrl = Queue.Url,
            MaxNumberOfMessages = count,
            WaitTimeSeconds = _options.WaitTimeSeconds,
            MessageSystemAttributeNames = AllAttributes,
            MessageAttributeNames = AllAttributes,
        };
        if (_options.VisibilityTimeout is { } visibility)
        {
            request.VisibilityTimeout = (int)visibility.TotalSeconds;
        }

        ReceiveMessageResponse response = await _sqs.ReceiveMessageAsync(request, cancellationToken).ConfigureAwait(false);
        List<Message>? messages = response.Messages;
        if (messages is null || messages.Count == 0)
        {
            return NoRecords;
        }

        var records = new SourceRecord[messages.Count];
        for (int i = 0; i < records.Length; i++)
        {
            records[i] = ToRecord(messages[i]);
        }

        return records;
    }

    private SourceRecord ToRecord(Message message)
    {
        // The response is ours alone, so its attribute dictionary becomes the record's without a copy.
        Dictionary<string, string> attributes = message.Attributes ?? new Dictionary<string, string>(StringComparer.Ordinal);
        if (message.MessageAttributes is { Count: > 0 } custom)
        {
            foreach ((string name, MessageAttributeValue value) in custom)
            {
                // System attributes win a name clash: they drive receive counts and FIFO order.
                attributes.TryAdd(name, value.StringValue ?? (value.BinaryValue is { } binary ? Convert.ToBase64String(binary.ToArray()) : string.Empty));
            }
        }

        int receiveCount = attributes.TryGetValue(SqsLimits.ApproximateReceiveCount, out string? rc)
            && int.TryParse(rc, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 1;
        DateTimeOffset? sentAt = attributes.TryGetValue(SqsLimits.SentTimestamp, out string? sent)
            && long.TryParse(sent, NumberStyles.Integer, CultureInfo.InvariantCulture, out long ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        return new SourceRecord
        {
            Id = message.MessageId,
            Body = Encoding.UTF8.GetBytes(message.Body ?? string.Empty),
            Attributes = attributes,
            PartitionKey = attributes.GetValueOrDefault(SqsLimits.MessageGroupId) ?? string.Empty,
            ReceiveCount = receiveCount,
            Source = Name,
            ReceiptHandle = message.ReceiptHandle,
            SentAt = sentAt,
        };
    }

    /// <summary>Moves the results of every finished receive into the carry-over; rethrows when all failed and none got messages.</summary>
    private void Harvest()
    {
        Exception? firstError = null;
        bool anySucceeded = false;
        for (int i = 0; i < _outstanding.Count; i++)
        {
            Task<SourceRecord[]> call = _outstanding[i];
            if (!call.IsCompleted)
            {
                continue;
            }

            _outstanding.RemoveAt(i--);
            if (call.IsCompletedSuccessfully)
            {
                anySucceeded = true;
                foreach (SourceRecord record in call.Result)
                {
                    _carry.Enqueue(record);
                }
            }
            else
            {
                Exception error = call.Exception?.GetBaseException() ?? new OperationCanceledException("ReceiveMessage was cancelled");
                firstError ??= error;
            }
        }

        if (firstError is not null && !anySucceeded)
        {
            // The poller backs off and polls again; the other calls stay outstanding.
            throw firstError;
        }

        if (firstError is not null)
        {
            LogReceiveCallFailed(_logger, Name, firstError.Message);
        }
    }

    private IReadOnlyList<SourceRecord> TakeFromCarry(int maxRecords)
    {
        int count = Math.Min(maxRecords, _carry.Count);
        if (count == 0)
        {
            return NoRecords;
        }

        var records = new SourceRecord[count];
        for (int i = 0; i < count; i++)
        {
            records[i] = _carry.Dequeue();
        }

        return records;
    }

    private async Task StopReceivingAsync()
    {
        // Let outstanding long polls finish instead of cancelling them: a server does not learn that a client gave up
        // on a long poll, and would go on to receive messages (released ones included) that nobody then holds, hiding
        // them for a whole visibility timeout. A poll ends within WaitTimeSeconds; only one that outlives that by a
        // margin is cancelled.
        if (_outstanding.Count > 0)
        {
            TimeSpan limit = TimeSpan.FromSeconds(_options.WaitTimeSeconds) + StopGrace;
            await ((Task)Task.WhenAll(_outstanding)).WaitAsync(limit, _time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await _receiveStop.CancelAsync().ConfigureAwait(false);
        }

        foreach (Task<SourceRecord[]> call in _outstanding)
        {
            await ((Task)call).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (call.IsCompletedSuccessfully)
            {
                foreach (SourceRecord record in call.Result)
                {
                    _carry.Enqueue(record);
                }
            }
        }

        _outstanding.Clear();
        if (_carry.Count > 0)
        {
            SourceRecord[] held = [.. _carry];
            _carry.Clear();
            await ChangeAllAsync(held, 0, CancellationToken.None).ConfigureAwait(false);
        }

        _receiveStop.Dispose();
        _receiveStop = new CancellationTokenSource();
    }

    private Task ChangeAllAsync(IReadOnlyList<SourceRecord> records, int visibilitySeconds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var entries = new List<Entry>(records.Count);
        foreach (SourceRecord record in records)
        {
            if (record.ReceiptHandle is null)
            {
                Interlocked.Increment(ref _stale);
                LogNoHandle(_logger, record.Id, Name);
                continue;
            }

            entries.Add(new Entry(record, visibilitySeconds));
        }

        return entries.Count == 0 ? Task.CompletedTask : ApplyAsync(Operation.ChangeVisibility, entries, cancellationToken);
    }

    /// <summary>
    /// Sends entries in chunks of 10, side by side; retries what SQS failed on its side with exponential backoff,
    /// and logs what stays failed. Never throws for an entry; throws only for cancellation.
    /// </summary>
    private async Task ApplyAsync(Operation operation, List<Entry> entries, CancellationToken cancellationToken)
    {
        List<Entry> pending = entries;
        for (int attempt = 1; ; attempt++)
        {
            int chunks = (pending.Count + SqsLimits.MaxBatchEntries - 1) / SqsLimits.MaxBatchEntries;
            var calls = new Task<List<(Entry Entry, string Code, string Reason)>>[chunks];
            for (int c = 0; c < chunks; c++)
            {
                int start = c * SqsLimits.MaxBatchEntries;
                calls[c] = SendChunkAsync(operation, pending, start, Math.Min(SqsLimits.MaxBatchEntries, pending.Count - start), cancellationToken);
            }

            await Task.WhenAll(calls).ConfigureAwait(false);
            List<(Entry Entry, string Code, string Reason)>? retriable = null;
            foreach (Task<List<(Entry Entry, string Code, string Reason)>> call in calls)
            {
                if (call.Result.Count > 0)
                {
                    (retriable ??= []).AddRange(call.Result);
                }
            }

            if (retriable is null)
            {
                return;
            }

            if (attempt >= _options.EntryRetryAttempts)
            {
                foreach ((Entry entry, string code, string reason) in retriable)
                {
                    Interlocked.Increment(ref _failed);
                    LogGaveUp(_logger, Describe(operation, entry), entry.Record.Id, Name, attempt, code, reason);
                }

                return;
            }

            Interlocked.Add(ref _retried, retriable.Count);
            TimeSpan delay = _options.EntryRetryBaseDelay * Math.Pow(2, attempt - 1);
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }

            pending = retriable.ConvertAll(f => f.Entry);
        }
    }

    /// <summary>One batch call; returns the entries worth retrying. Sender faults are logged here and dropped.</summary>
    private async Task<List<(Entry Entry, string Code, string Reason)>> SendChunkAsync(Operation operation, List<Entry> entries, int start, int count, CancellationToken cancellationToken)
    {
        var retriable = new List<(Entry, string, string)>();
        List<BatchResultErrorEntry>? failed;
        try
        {
            if (operation == Operation.Delete)
            {
                var request = new DeleteMessageBatchRequest { QueueUrl = Queue.Url, Entries = new List<DeleteMessageBatchRequestEntry>(count) };
                for (int i = 0; i < count; i++)
                {
                    request.Entries.Add(new DeleteMessageBatchRequestEntry(IdOf(i), entries[start + i].Record.ReceiptHandle));
                }

                failed = (await _sqs.DeleteMessageBatchAsync(request, cancellationToken).ConfigureAwait(false)).Failed;
            }
            else
            {
                var request = new ChangeMessageVisibilityBatchRequest { QueueUrl = Queue.Url, Entries = new List<ChangeMessageVisibilityBatchRequestEntry>(count) };
                for (int i = 0; i < count; i++)
                {
                    Entry entry = entries[start + i];
                    request.Entries.Add(new ChangeMessageVisibilityBatchRequestEntry(IdOf(i), entry.Record.ReceiptHandle) { VisibilityTimeout = entry.VisibilitySeconds });
                }

                failed = (await _sqs.ChangeMessageVisibilityBatchAsync(request, cancellationToken).ConfigureAwait(false)).Failed;
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The whole call failed (after the SDK's own retries): every entry of the chunk is worth another try.
            string code = ex is AmazonSQSException sqsError ? sqsError.ErrorCode ?? ex.GetType().Name : ex.GetType().Name;
            for (int i = 0; i < count; i++)
            {
                retriable.Add((entries[start + i], code, ex.Message));
            }

            return retriable;
        }

        if (failed is null || failed.Count == 0)
        {
            return retriable;
        }

        foreach (BatchResultErrorEntry error in failed)
        {
            if (!int.TryParse(error.Id, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index) || index < 0 || index >= count)
            {
                LogUnknownEntry(_logger, Name, error.Id ?? "(none)", error.Code ?? "", error.Message ?? "");
                continue;
            }

            Entry entry = entries[start + index];
            if (error.SenderFault == true)
            {
                Interlocked.Increment(ref _stale);
                LogRefused(_logger, Describe(operation, entry), entry.Record.Id, Name, error.Code ?? "", error.Message ?? "");
            }
            else
            {
                retriable.Add((entry, error.Code ?? "", error.Message ?? ""));
            }
        }

        return retriable;
    }

    private static readonly string[] Ids = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private static string IdOf(int i) => Ids[i];

    private static string Describe(Operation operation, Entry entry) =>
        operation == Operation.Delete ? "Deleting" : string.Create(CultureInfo.InvariantCulture, $"Setting the visibility ({entry.VisibilitySeconds} s) of");

    /// <summary>Whole seconds, rounded up so a short backoff still hides the message, within SQS's 0–12 h.</summary>
    private static int ToSeconds(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            return 0;
        }

        return delay >= SqsLimits.MaxVisibilityTimeout ? (int)SqsLimits.MaxVisibilityTimeout.TotalSeconds : (int)Math.Ceiling(delay.TotalSeconds);
    }

    private enum Operation
    {
        Delete,
        ChangeVisibility,
    }

    private readonly record struct Entry(SourceRecord Record, int VisibilitySeconds);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning,
        Message = "{Action} message {MessageId} on {Queue} was refused ({Code}: {Reason}). Its receipt handle is stale or invalid: it was already deleted, or its visibility ran out and it was received again. Not retried; if the message still exists it reappears after its visibility timeout, and a completed job is then skipped.")]
    private static partial void LogRefused(ILogger logger, string action, string messageId, string queue, string code, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Error,
        Message = "{Action} message {MessageId} on {Queue} still failed after {Attempts} attempts ({Code}: {Reason}). The message will simply reappear after its visibility timeout (a completed job is then skipped).")]
    private static partial void LogGaveUp(ILogger logger, string action, string messageId, string queue, int attempts, string code, string reason);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Message {MessageId} from {Queue} has no receipt handle; it cannot be acknowledged and reappears after its visibility timeout.")]
    private static partial void LogNoHandle(ILogger logger, string messageId, string queue);

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "A batch response from {Queue} named an unknown entry {EntryId} ({Code}: {Reason}).")]
    private static partial void LogUnknownEntry(ILogger logger, string queue, string entryId, string code, string reason);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "One ReceiveMessage call on {Queue} failed while others succeeded: {Reason}")]
    private static partial void LogReceiveCallFailed(ILogger logger, string queue, string reason);
}
