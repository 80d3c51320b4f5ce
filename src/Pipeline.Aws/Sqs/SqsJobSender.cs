using System.Globalization;
using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipeline.Aws.Sqs;

/// <summary>One message to send: the job's JSON body, and for FIFO queues its group and deduplication id.</summary>
public sealed record SqsOutgoingMessage(string Body)
{
    /// <summary>The job's id, used to name the message in errors and, on FIFO queues, as the default deduplication id.</summary>
    public string? JobId { get; init; }

    /// <summary>FIFO: the group whose order is kept (required on a FIFO queue).</summary>
    public string? MessageGroupId { get; init; }

    /// <summary>FIFO: deduplication id; defaults to <see cref="JobId"/> when that is set (else the queue needs content-based deduplication).</summary>
    public string? MessageDeduplicationId { get; init; }

    /// <summary>String message attributes.</summary>
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    /// <summary>SQS counts the body and every attribute's name, type and value against MaximumMessageSize.</summary>
    public int SizeInBytes
    {
        get
        {
            int size = Encoding.UTF8.GetByteCount(Body);
            if (Attributes is not null)
            {
                foreach ((string name, string value) in Attributes)
                {
                    size += Encoding.UTF8.GetByteCount(name) + "String".Length + Encoding.UTF8.GetByteCount(value);
                }
            }

            return size;
        }
    }
}

/// <summary>How <see cref="SqsJobSender"/> sends. Immutable; <see cref="Validate"/> names the property that is wrong.</summary>
public sealed record SqsSenderOptions
{
    /// <summary>
    /// Summed message sizes per SendMessageBatch request (default 256 KiB, the classic SQS rule). A single message
    /// larger than this (allowed by a queue whose MaximumMessageSize is larger) goes alone in its request.
    /// </summary>
    public int MaxRequestBytes { get; init; } = SqsLimits.ClassicMaxRequestBytes;

    /// <summary>SendMessageBatch requests in flight at once, 1–64 (default 4).</summary>
    public int MaxConcurrentRequests { get; init; } = 4;

    /// <summary>Attempts per entry that SQS fails on its side (or whose request fails), 1–10 (default 3).</summary>
    public int RetryAttempts { get; init; } = 3;

    /// <summary>First retry delay; doubles each attempt (default 100 ms).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public SqsSenderOptions Validate()
    {
        if (MaxRequestBytes < SqsLimits.MinMaximumMessageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBytes), MaxRequestBytes, $"MaxRequestBytes must be at least 1,024 (got {MaxRequestBytes:N0}).");
        }

        if (MaxConcurrentRequests is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, $"MaxConcurrentRequests must be between 1 and 64 (got {MaxConcurrentRequests}).");
        }

        if (RetryAttempts is < 1 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryAttempts), RetryAttempts, $"RetryAttempts must be between 1 and 10 (got {RetryAttempts}).");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(RetryBaseDelay), RetryBaseDelay, $"RetryBaseDelay must be between 0 and 10 s (got {RetryBaseDelay}).");
        }

        return this;
    }
}

/// <summary>
/// Sends job messages to one queue with SendMessageBatch: up to 10 entries and <see cref="SqsSenderOptions.MaxRequestBytes"/>
/// per request, several requests side by side. Every message is checked against the queue's MaximumMessageSize
/// before anything is sent, so an oversized job is refused by name without a half-sent backlog. Entries SQS fails
/// on its side are retried with backoff (bounded); entries it refuses as the sender's fault are reported at once.
/// Used by <c>bgpipe backlog --endpoint-url</c> and the client SDK.
/// </summary>
public sealed partial class SqsJobSender
{
    private readonly IAmazonSQS _sqs;
    private readonly SqsSenderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SqsJobSender(IAmazonSQS sqs, SqsQueueInfo queue, SqsSenderOptions? options = null, TimeProvider? timeProvider = null, ILogger<SqsJobSender>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        ArgumentNullException.ThrowIfNull(queue);
        _sqs = sqs;
        Queue = queue;
        _options = (options ?? new SqsSenderOptions()).Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Resolves the queue (URL, name or ARN), reads its attributes, and creates the sender.</summary>
    public static async Task<SqsJobSender> CreateAsync(IAmazonSQS sqs, string queue, SqsSenderOptions? options = null, TimeProvider? timeProvider = null, ILogger<SqsJobSender>? logger = null, CancellationToken cancellationToken = default)
    {
        SqsQueueInfo info = await SqsQueues.DescribeAsync(sqs, queue, cancellationToken).ConfigureAwait(false);
        return new SqsJobSender(sqs, info, options, timeProvider, logger);
    }

    public SqsQueueInfo Queue { get; }

    /// <summary>Sends one message; returns its message id.</summary>
    public async Task<string> SendAsync(SqsOutgoingMessage message, CancellationToken cancellationToken = default) =>
        (await SendAsync([message], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Sends every message and returns their message ids in the same order. Throws
    /// <see cref="SqsMessageTooLargeException"/> (nothing sent) when one is over the queue's MaximumMessageSize, and
    /// <see cref="SqsSendFailedException"/> (naming each failure; the others were sent) when some still fail after retries.
    /// </summary>
    public async Task<IReadOnlyList<string>> SendAsync(IReadOnlyList<SqsOutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        int[] sizes = Check(messages);
        List<int[]> chunks = RequestChunks.Split(sizes, SqsLimits.MaxBatchEntries, _options.MaxRequestBytes);
        var ids = new string?[messages.Count];
        var failures = new List<SqsSendFailure>();
        using var gate = new SemaphoreSlim(_options.MaxConcurrentRequests);
        var sends = new List<Task>(chunks.Count);
        foreach (int[] chunk in chunks)
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            // On the pool: the SDK marshals and signs a request synchronously before its first await, which would
            // otherwise run every request's preparation on this one loop thread.
            sends.Add(Task.Run(() => SendChunkAsync(messages, chunk, ids, failures, gate, cancellationToken), CancellationToken.None));
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        if (failures.Count > 0)
        {
            failures.Sort((a, b) => a.Index.CompareTo(b.Index));
            throw new SqsSendFailedException(failures, Queue.Url);
        }

        return ids!;
    }

    private int[] Check(IReadOnlyList<SqsOutgoingMessage> messages)
    {
        var sizes = new int[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            SqsOutgoingMessage message = messages[i] ?? throw new ArgumentException($"Message #{i} is null.", nameof(messages));
            if (string.IsNullOrEmpty(message.Body))
            {
                throw new ArgumentException($"Job {NameOf(message, i)} has an empty body; SQS requires at least one character.", nameof(messages));
            }

            sizes[i] = message.SizeInBytes;
            if (sizes[i] > Queue.MaximumMessageSize)
            {
                throw new SqsMessageTooLargeException(NameOf(message, i), sizes[i], Queue.MaximumMessageSize, Queue.Url);
            }

            if (Queue.IsFifo && string.IsNullOrEmpty(message.MessageGroupId))
            {
                throw new ArgumentException($"Job {NameOf(message, i)} has no MessageGroupId, which FIFO queue {Queue.Url} requires.", nameof(messages));
            }
        }

        return sizes;
    }

    private async Task SendChunkAsync(IReadOnlyList<SqsOutgoingMessage> messages, int[] chunk, string?[] ids, List<SqsSendFailure> failures, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyList<int> pending = chunk;
            for (int attempt = 1; ; attempt++)
            {
                var retry = new List<(int Index, string Code, string Reason)>();
                var request = new SendMessageBatchRequest { QueueUrl = Queue.Url, Entries = new List<SendMessageBatchRequestEntry>(pending.Count) };
                foreach (int index in pending)
                {
                    request.Entries.Add(ToEntry(messages[index], index));
                }

                try
                {
                    SendMessageBatchResponse response = await _sqs.SendMessageBatchAsync(request, cancellationToken).ConfigureAwait(false);
                    foreach (SendMessageBatchResultEntry ok in response.Successful ?? [])
                    {
                        ids[int.Parse(ok.Id, NumberStyles.Integer, CultureInfo.InvariantCulture)] = ok.MessageId;
                    }

                    foreach (BatchResultErrorEntry error in response.Failed ?? [])
                    {
                        int index = int.Parse(error.Id, NumberStyles.Integer, CultureInfo.InvariantCulture);
                        if (error.SenderFault == true)
                        {
                            AddFailure(failures, new SqsSendFailure(index, NameOf(messages[index], index), error.Code ?? "", error.Message ?? ""));
                        }
                        else
                        {
                            retry.Add((index, error.Code ?? "", error.Message ?? ""));
                        }
                    }
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is AmazonSQSException or HttpRequestException or IOException)
                {
                    string code = ex is AmazonSQSException sqsError ? sqsError.ErrorCode ?? ex.GetType().Name : ex.GetType().Name;
                    foreach (int index in pending)
                    {
                        retry.Add((index, code, ex.Message));
                    }
                }

                if (retry.Count == 0)
                {
                    return;
                }

                if (attempt >= _options.RetryAttempts)
                {
                    foreach ((int index, string code, string reason) in retry)
                    {
                        AddFailure(failures, new SqsSendFailure(index, NameOf(messages[index], index), code, reason));
                    }

                    return;
                }

                LogRetrying(_logger, retry.Count, Queue.Url, attempt, retry[0].Code, retry[0].Reason);
                TimeSpan delay = _options.RetryBaseDelay * Math.Pow(2, attempt - 1);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }

                pending = retry.ConvertAll(r => r.Index);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private static void AddFailure(List<SqsSendFailure> failures, SqsSendFailure failure)
    {
        lock (failures)
        {
            failures.Add(failure);
        }
    }

    private SendMessageBatchRequestEntry ToEntry(SqsOutgoingMessage message, int index)
    {
        var entry = new SendMessageBatchRequestEntry(index.ToString(CultureInfo.InvariantCulture), message.Body);
        if (message.MessageGroupId is not null)
        {
            entry.MessageGroupId = message.MessageGroupId;
        }

        if (Queue.IsFifo && (message.MessageDeduplicationId ?? message.JobId) is { } dedup)
        {
            entry.MessageDeduplicationId = dedup;
        }

        if (message.Attributes is { Count: > 0 } attributes)
        {
            entry.MessageAttributes = new Dictionary<string, MessageAttributeValue>(attributes.Count);
            foreach ((string name, string value) in attributes)
            {
                entry.MessageAttributes[name] = new MessageAttributeValue { DataType = "String", StringValue = value };
            }
        }

        return entry;
    }

    private static string NameOf(SqsOutgoingMessage message, int index) =>
        message.JobId is { Length: > 0 } id ? $"'{id}' (message #{index})" : $"message #{index}";

    [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "{Count} message(s) to {Queue} failed on attempt {Attempt} ({Code}: {Reason}); retrying")]
    private static partial void LogRetrying(ILogger logger, int count, string queue, int attempt, string code, string reason);
}
