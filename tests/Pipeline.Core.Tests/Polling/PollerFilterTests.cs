using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Filtering;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Polling;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Polling;

public sealed class PollerFilterTests
{
    /// <summary>Returns one scripted page, then waits for the stop.</summary>
    private sealed class OnePageSource(IReadOnlyList<SourceRecord> page, IBatchAcknowledger acknowledger) : IRecordSource
    {
        private int _served;

        public string Name => "test://one-page";

        public IBatchAcknowledger Acknowledger => acknowledger;

        public async ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _served, 1) == 0)
            {
                return page;
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            return [];
        }
    }

    /// <summary>Remembers each acknowledgement call separately, to see how filtered records were grouped.</summary>
    private sealed class ChunkAcknowledger : IBatchAcknowledger
    {
        private readonly ConcurrentQueue<IReadOnlyList<ItemResult>> _chunks = new();

        public TimeSpan VisibilityTimeout => TimeSpan.FromSeconds(30);

        public IReadOnlyList<IReadOnlyList<ItemResult>> Chunks => [.. _chunks];

        public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
        {
            _chunks.Enqueue([.. results]);
            return ValueTask.CompletedTask;
        }

        public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Given_a_page_with_filtered_records_When_polled_Then_they_are_acknowledged_as_Filtered_in_small_batches_and_the_rest_pass_in_order()
    {
        var records = new List<SourceRecord>();
        for (int i = 0; i < 30; i++)
        {
            // Every third record is a job under in/; the rest are filtered out.
            records.Add(TestRecords.Record(i % 3 == 0 ? $$"""{"source":"in/{{i}}"}""" : $$"""{"source":"tmp/{{i}}"}""", id: $"m{i}"));
        }

        var acks = new ChunkAcknowledger();
        var output = Channel.CreateUnbounded<SourceRecord>();
        var stats = new MappingStatistics();
        var poller = new Poller(new OnePageSource(records, acks), output.Writer, 30, TimeProvider.System, stats, NullLogger.Instance,
            FilterCriteria.Create(["""{"body":{"source":[{"prefix":"in/"}]}}"""]));

        using var stop = new CancellationTokenSource();
        Task run = poller.RunAsync(stop.Token);
        await Wait.UntilAsync(() => acks.Chunks.Count == 2, "filtered records acknowledged");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([10, 10], acks.Chunks.Select(c => c.Count));
        Assert.All(acks.Chunks.SelectMany(c => c), r =>
        {
            Assert.Equal(ItemOutcome.Filtered, r.Outcome);
            Assert.False(r.IsFailure);
            Assert.StartsWith("""{"source":"tmp/""", System.Text.Encoding.UTF8.GetString(r.Record.Body.Span), StringComparison.Ordinal);
        });
        List<string> passed = [];
        while (output.Reader.TryRead(out SourceRecord? r))
        {
            passed.Add(r.Id);
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i * 3}"), passed);
        Assert.Equal(30, stats.PolledEventCount);
        Assert.Equal(20, stats.FilteredOutEventCount);
    }
}
