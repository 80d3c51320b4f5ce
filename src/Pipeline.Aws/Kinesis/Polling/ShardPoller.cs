using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Core.Records;

namespace Pipeline.Aws.Kinesis.Polling;

/// <summary>
/// Reads one shard and writes its records, in order, as <see cref="ShardBatch"/>es into a bounded channel it does not
/// own. Back-pressure comes first: it waits for room in the channel before each GetRecords. Pacing follows the ESM: one
/// call per <see cref="ShardPollerOptions.PollInterval"/> while caught up, calls without waiting while records wait
/// (a call returned records and MillisBehindLatest &gt; 0), and never more than
/// <see cref="ShardPollerOptions.MaxCallsPerSecond"/> calls in any 1 s window.
/// </summary>
/// <remarks>
/// Throttling and transient failures back off (exponential, bounded, jittered) and go on. An expired iterator is
/// replaced by one AFTER_SEQUENCE_NUMBER the last record handed on (or the starting position when none was), so no
/// record is skipped or repeated. Other Kinesis errors (stream not found, invalid argument) end RunAsync with that
/// exception. The poller never completes the channel writer.
/// One gap remains, as in KCL: with StartingPosition LATEST and no checkpoint, an iterator that expires before any
/// record was handed on is re-acquired at LATEST, so records put meanwhile are not read.
/// </remarks>
public sealed partial class ShardPoller
{
    /// <summary>The attribute naming the shard a record came from.</summary>
    public const string ShardIdAttribute = "shardId";

    /// <summary>The attribute holding the record's sequence number (also its <see cref="SourceRecord.Id"/>).</summary>
    public const string SequenceNumberAttribute = "sequenceNumber";

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly IKinesisClient _kinesis;
    private readonly ChannelWriter<ShardBatch> _output;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Queue<DateTimeOffset> _recentCalls = new();
    private volatile string? _lastSequenceNumber;
    private int _running;

    /// <param name="kinesis">The Kinesis client; it never retries, this poller does.</param>
    /// <param name="options">Validated on construction.</param>
    /// <param name="output">Where batches go; bound it for back-pressure. Never completed by the poller.</param>
    /// <param name="timeProvider">The clock of pacing and backoff.</param>
    /// <param name="logger">Optional.</param>
    public ShardPoller(
        IKinesisClient kinesis,
        ShardPollerOptions options,
        ChannelWriter<ShardBatch> output,
        TimeProvider timeProvider,
        ILogger<ShardPoller>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(kinesis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Options = options.Validate();
        _kinesis = kinesis;
        _output = output;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public ShardPollerOptions Options { get; }

    public ShardPollerCounters Counters { get; } = new();

    /// <summary>The sequence number of the last record handed on; null before the first.</summary>
    public string? LastSequenceNumber => _lastSequenceNumber;

    /// <summary>
    /// Polls until the shard ends (<see cref="ShardEnded"/>), the token is cancelled or the channel is completed
    /// (<see cref="ShardPollStopped"/>). A poller runs once.
    /// </summary>
    public async Task<ShardPollResult> RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException($"The poller of shard {Options.ShardId} was already started; a poller runs once.");
        }

        try
        {
            return await PollAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new ShardPollStopped(Options.ShardId, _lastSequenceNumber, ShardPollStopReason.Cancelled);
        }
    }

    private async Task<ShardPollResult> PollAsync(CancellationToken cancellationToken)
    {
        var iterator = await AcquireIteratorAsync(cancellationToken).ConfigureAwait(false);
        var notBefore = _time.GetUtcNow();
        var failures = 0;
        while (true)
        {
            var room = _output.WaitToWriteAsync(cancellationToken);
            if (!room.IsCompleted)
            {
                Counters.BackPressure();
            }

            if (!await room.ConfigureAwait(false))
            {
                LogChannelCompleted(_logger, Options.ShardId);
                return new ShardPollStopped(Options.ShardId, _lastSequenceNumber, ShardPollStopReason.ChannelCompleted);
            }

            var started = await WaitForTurnAsync(notBefore, cancellationToken).ConfigureAwait(false);
            GetRecordsResponse response;
            try
            {
                Counters.Call();
                response = await _kinesis.GetRecordsAsync(new GetRecordsRequest { ShardIterator = iterator, Limit = Options.BatchSize }, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (KinesisExpiredIteratorException)
            {
                Counters.Expired();
                LogExpired(_logger, Options.ShardId, _lastSequenceNumber);
                iterator = await AcquireIteratorAsync(cancellationToken).ConfigureAwait(false);
                notBefore = _time.GetUtcNow();
                continue;
            }
            catch (Exception error) when (IsRetriable(error, cancellationToken))
            {
                var delay = Backoff(++failures);
                CountFailure(error);
                LogGetRecordsRetry(_logger, Options.ShardId, failures, delay.TotalMilliseconds, error);
                notBefore = _time.GetUtcNow() + delay;
                continue;
            }

            var behind = response.MillisBehindLatest ?? 0;
            Counters.Behind(behind);
            if (response.Records.Count > 0)
            {
                await HandOnAsync(response.Records, behind, cancellationToken).ConfigureAwait(false);
            }

            if (response.NextShardIterator is null)
            {
                var children = response.ChildShards is { Count: > 0 } given
                    ? given.Select(c => c.ShardId).ToArray()
                    : await ListChildrenAsync(cancellationToken).ConfigureAwait(false);
                LogShardEnded(_logger, Options.ShardId, string.Join(",", children));
                return new ShardEnded(Options.ShardId, _lastSequenceNumber, children);
            }

            iterator = response.NextShardIterator;
            notBefore = response.Records.Count > 0 && behind > 0 ? started : started + Options.PollInterval;
        }
    }

    private async Task HandOnAsync(IReadOnlyList<Record> records, long behind, CancellationToken cancellationToken)
    {
        var mapped = new SourceRecord[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            mapped[i] = ToSourceRecord(records[i]);
        }

        var batch = new ShardBatch(Options.ShardId, mapped, behind, records[0].SequenceNumber, records[^1].SequenceNumber);

        // Room was waited for before the call; WriteAsync still waits if another writer of a shared channel took it.
        await _output.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
        _lastSequenceNumber = batch.LastSequenceNumber;
        Counters.HandedOn(mapped.Length);
        LogHandedOn(_logger, Options.ShardId, mapped.Length, batch.LastSequenceNumber, behind);
    }

    private SourceRecord ToSourceRecord(Record record) => new()
    {
        Id = record.SequenceNumber,
        PartitionKey = record.PartitionKey,
        Body = record.Data,
        SentAt = record.ApproximateArrivalTimestamp,
        Source = Options.SourceIdentity,
        Attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ShardIdAttribute] = Options.ShardId,
            [SequenceNumberAttribute] = record.SequenceNumber,
        },
    };

    /// <summary>Waits for the later of <paramref name="notBefore"/> and the rate window's room; returns the call's start.</summary>
    private async Task<DateTimeOffset> WaitForTurnAsync(DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        var due = notBefore;
        if (_recentCalls.Count >= Options.MaxCallsPerSecond)
        {
            var windowOpens = _recentCalls.Peek() + Window;
            if (windowOpens > due)
            {
                due = windowOpens;
            }
        }

        var now = _time.GetUtcNow();
        if (due > now)
        {
            await Task.Delay(due - now, _time, cancellationToken).ConfigureAwait(false);
            now = _time.GetUtcNow();
        }

        _recentCalls.Enqueue(now);
        while (_recentCalls.Count > Options.MaxCallsPerSecond)
        {
            _recentCalls.Dequeue();
        }

        return now;
    }

    private async Task<string> AcquireIteratorAsync(CancellationToken cancellationToken)
    {
        var request = IteratorRequest();
        var response = await RetryAsync(
            "GetShardIterator",
            () => _kinesis.GetShardIteratorAsync(request, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        LogIterator(_logger, Options.ShardId, request.ShardIteratorType, request.StartingSequenceNumber);
        return response.ShardIterator;
    }

    /// <summary>
    /// The children of this closed shard from ListShards, for endpoints that answer SHARD_END without ChildShards
    /// (kinesalite 3.3.3, and AWS before ChildShards existed).
    /// </summary>
    private async Task<string[]> ListChildrenAsync(CancellationToken cancellationToken)
    {
        var shards = await RetryAsync(
            "ListShards",
            () => _kinesis.ListAllShardsAsync(Options.StreamName, cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return shards
            .Where(s => s.ParentShardId == Options.ShardId || s.AdjacentParentShardId == Options.ShardId)
            .Select(s => s.ShardId)
            .ToArray();
    }

    private async Task<T> RetryAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var failures = 0; ; )
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception error) when (IsRetriable(error, cancellationToken))
            {
                var delay = Backoff(++failures);
                CountFailure(error);
                LogRetry(_logger, Options.ShardId, operation, failures, delay.TotalMilliseconds, error);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>After the last record handed on, else after the checkpoint, else the starting position.</summary>
    internal GetShardIteratorRequest IteratorRequest()
    {
        var after = _lastSequenceNumber ?? Options.Checkpoint;
        if (after is not null)
        {
            return new GetShardIteratorRequest
            {
                StreamName = Options.StreamName,
                ShardId = Options.ShardId,
                ShardIteratorType = ShardIteratorType.AfterSequenceNumber,
                StartingSequenceNumber = after,
            };
        }

        return new GetShardIteratorRequest
        {
            StreamName = Options.StreamName,
            ShardId = Options.ShardId,
            ShardIteratorType = Options.StartingPosition switch
            {
                StartingPosition.Latest => ShardIteratorType.Latest,
                StartingPosition.AtTimestamp => ShardIteratorType.AtTimestamp,
                _ => ShardIteratorType.TrimHorizon,
            },
            Timestamp = Options.StartingPositionTimestamp,
        };
    }

    /// <summary>Equal jitter: half the bounded exponential delay, plus a random share of the other half.</summary>
    internal TimeSpan Backoff(int failures)
    {
        var exponent = Math.Min(failures - 1, 30);
        var ceiling = Math.Min(Options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, exponent), Options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

    private static bool IsRetriable(Exception error, CancellationToken cancellationToken) => error switch
    {
        KinesisThroughputExceededException or KinesisTransientException or HttpRequestException => true,

        // The client's own request timeout, not our shutdown.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    private void CountFailure(Exception error)
    {
        if (error is KinesisThroughputExceededException)
        {
            Counters.Throttled();
        }
        else
        {
            Counters.Transient();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Shard {ShardId}: iterator {IteratorType} {SequenceNumber}")]
    private static partial void LogIterator(ILogger logger, string shardId, ShardIteratorType iteratorType, string? sequenceNumber);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Shard {ShardId}: handed on {Count} records up to {SequenceNumber}, {MillisBehindLatest} ms behind")]
    private static partial void LogHandedOn(ILogger logger, string shardId, int count, string sequenceNumber, long millisBehindLatest);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Shard {ShardId}: iterator expired; resuming after {SequenceNumber}")]
    private static partial void LogExpired(ILogger logger, string shardId, string? sequenceNumber);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Shard {ShardId}: GetRecords failed ({Failures} in a row); retrying in {DelayMs} ms")]
    private static partial void LogGetRecordsRetry(ILogger logger, string shardId, int failures, double delayMs, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Shard {ShardId}: {Operation} failed ({Failures} in a row); retrying in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, string shardId, string operation, int failures, double delayMs, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Shard {ShardId}: SHARD_END; children [{Children}]")]
    private static partial void LogShardEnded(ILogger logger, string shardId, string children);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Shard {ShardId}: the output channel was completed; stopping")]
    private static partial void LogChannelCompleted(ILogger logger, string shardId);
}
