using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Core.Hosting;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Core.Polling;

/// <summary>
/// Receives from a source into a bounded channel, waiting for room before it polls (back-pressure first, as
/// JustSaying's MessageReceiveBuffer does). On stop it gives back what it received but could not hand on, and
/// completes its writer, so nothing is held invisibly.
/// </summary>
public sealed partial class Poller
{
    private readonly IRecordSource _source;
    private readonly ChannelWriter<SourceRecord> _output;
    private readonly int _maxRecordsPerPoll;
    private readonly TimeProvider _time;
    private readonly MappingStatistics _stats;
    private readonly ILogger _logger;

    public Poller(IRecordSource source, ChannelWriter<SourceRecord> output, int maxRecordsPerPoll, TimeProvider timeProvider, MappingStatistics statistics, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecordsPerPoll, 1);
        _source = source;
        _output = output;
        _maxRecordsPerPoll = maxRecordsPerPoll;
        _time = timeProvider;
        _stats = statistics;
        _logger = logger;
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

                if (records.Count == 0)
                {
                    continue;
                }

                _stats.AddPolled(records.Count);
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
}
