using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Core.Filtering;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Core.Polling;

/// <summary>
/// Receives from a source into a bounded channel, waiting for room before it polls (back-pressure first, as
/// JustSaying's MessageReceiveBuffer does). On stop it gives back what it received but could not hand on, and
/// completes its writer, so nothing is held invisibly. With FilterCriteria, records that match no filter are
/// acknowledged as <see cref="ItemOutcome.Filtered"/> (deleted without invoking) right here, before they take room in
/// the buffer or a lane.
/// </summary>
public sealed partial class Poller
{
    private readonly IRecordSource _source;
    private readonly ChannelWriter<SourceRecord> _output;
    private readonly int _maxRecordsPerPoll;
    private readonly TimeProvider _time;
    private readonly MappingStatistics _stats;
    private readonly ILogger _logger;
    private readonly FilterCriteria? _filter;

    /// <summary>Filtered records are acknowledged in groups of at most this many (SQS DeleteMessageBatch's limit).</summary>
    internal const int FilteredAckBatch = 10;

    public Poller(IRecordSource source, ChannelWriter<SourceRecord> output, int maxRecordsPerPoll, TimeProvider timeProvider, MappingStatistics statistics, ILogger logger, FilterCriteria? filter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordsPerPoll, 1);
        _source = source;
        _output = output;
        _maxRecordsPerPoll = maxRecordsPerPoll;
        _time = timeProvider;
        _stats = statistics;
        _logger = logger;
        _filter = filter;
    }

    /// <summary>Polls until <paramref name="stoppingToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        int consecutiveErrors = 0;
        try
        {
            while (await _output.WaitToWriteAsync(stoppingToken).ConfigureAwait(false))
            {
                IReadOnlyList<SourceRecord> records;
                try
                {
                    records = await _source.ReceiveAsync(_maxRecordsPerPoll, stoppingToken).ConfigureAwait(false);
                    consecutiveErrors = 0;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // A source outage must not end the mapping: back off and poll again.
                    consecutiveErrors++;
                    TimeSpan delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(consecutiveErrors, 8))));
                    LogReceiveFailure(_logger, _source.Name, delay.TotalSeconds, ex.Message, ex);
                    await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                _stats.AddPoll(records.Count, _maxRecordsPerPoll);
                if (records.Count == 0)
                {
                    continue;
                }

                _stats.AddPolled(records.Count);
                if (_filter is not null)
                {
                    records = await FilterAsync(records, stoppingToken).ConfigureAwait(false);
                }

                await HandOnAsync(records, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _output.TryComplete();
        }
    }

    private async ValueTask<IReadOnlyList<SourceRecord>> FilterAsync(IReadOnlyList<SourceRecord> records, CancellationToken stoppingToken)
    {
        List<SourceRecord>? passed = null;
        List<ItemResult>? filtered = null;
        for (int i = 0; i < records.Count; i++)
        {
            SourceRecord record = records[i];
            if (_filter!.Matches(record))
            {
                passed?.Add(record);
                continue;
            }

            if (passed is null)
            {
                // First record filtered out: keep the ones before it, which all passed.
                passed = new List<SourceRecord>(records.Count);
                for (int j = 0; j < i; j++)
                {
                    passed.Add(records[j]);
                }
            }

            LogFilteredOut(_logger, record.Id, _source.Name);
            (filtered ??= []).Add(ItemResult.FilteredOut(record));
        }

        if (filtered is null)
        {
            return records;
        }

        _stats.AddFilteredOut(filtered.Count);
        for (int start = 0; start < filtered.Count; start += FilteredAckBatch)
        {
            List<ItemResult> chunk = filtered.GetRange(start, Math.Min(FilteredAckBatch, filtered.Count - start));
            try
            {
                await _source.Acknowledger.AcknowledgeAsync(chunk, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Not lost: they reappear after their visibility timeout and are filtered out again.
                LogFilteredAckFailure(_logger, chunk.Count, ex.Message, ex);
            }
        }

        return passed!;
    }

    private async ValueTask HandOnAsync(IReadOnlyList<SourceRecord> records, CancellationToken stoppingToken)
    {
        for (int i = 0; i < records.Count; i++)
        {
            if (_output.TryWrite(records[i]))
            {
                continue;
            }

            try
            {
                await _output.WriteAsync(records[i], stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                var rest = new SourceRecord[records.Count - i];
                for (int j = i; j < records.Count; j++)
                {
                    rest[j - i] = records[j];
                }

                await _source.Acknowledger.ReleaseAsync(rest, CancellationToken.None).ConfigureAwait(false);
                _stats.AddReleased(rest.Length);
                throw;
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Receiving from {Source} failed; polling again in {DelaySeconds} s: {Reason}")]
    private static partial void LogReceiveFailure(ILogger logger, string source, double delaySeconds, string reason, Exception ex);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Record {MessageId} from {Source} matched no filter; deleting it without invoking")]
    private static partial void LogFilteredOut(ILogger logger, string messageId, string source);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Deleting {Count} filtered-out records failed; they reappear after their visibility timeout and are filtered again: {Reason}")]
    private static partial void LogFilteredAckFailure(ILogger logger, int count, string reason, Exception ex);
}
