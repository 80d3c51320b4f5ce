using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Batching;
using Pipeline.Core.Records;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Batching;

public sealed class BatcherTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Channel<DecodedRecord> _input = Channel.CreateBounded<DecodedRecord>(1000);
    private readonly Channel<Batch> _output = Channel.CreateUnbounded<Batch>();

    private Batcher Start(BatchingOptions options, out Task run)
    {
        var batcher = new Batcher(0, _input.Reader, _output.Writer, options, _time);
        run = batcher.RunAsync(CancellationToken.None);
        return batcher;
    }

    private void Write(int count, int bodyBytes = 10)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.True(_input.Writer.TryWrite(TestRecords.Decoded(TestRecords.Sized(bodyBytes))));
        }
    }

    private async Task<List<Batch>> DrainAsync(Task run)
    {
        _input.Writer.TryComplete();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        var batches = new List<Batch>();
        await foreach (Batch b in _output.Reader.ReadAllAsync())
        {
            batches.Add(b);
        }

        return batches;
    }

    [Fact]
    public async Task Given_more_records_than_BatchSize_When_batching_without_window_Then_batches_are_cut_at_BatchSize()
    {
        Write(7);
        Start(BatchingOptions.ForSqs(batchSize: 3), out Task run);
        await Wait.UntilAsync(() => _output.Reader.Count == 3, "three batches");

        List<Batch> batches = await DrainAsync(run);
        Assert.Equal([3, 3, 1], batches.Select(b => b.Count));
        Assert.Equal([BatchCutReason.BatchSizeReached, BatchCutReason.BatchSizeReached, BatchCutReason.NoWindow], batches.Select(b => b.CutReason));
    }

    [Fact]
    public async Task Given_a_window_When_fewer_records_than_BatchSize_arrive_Then_the_batch_is_cut_only_when_the_window_elapses()
    {
        Start(BatchingOptions.ForSqs(batchSize: 20, maximumBatchingWindowInSeconds: 2), out Task run);
        Write(3);
        await Wait.UntilAsync(() => _input.Reader.Count == 0, "batcher took the records");

        // Before the window ends a late record still joins the batch.
        _time.Advance(TimeSpan.FromSeconds(1.5));
        Write(1);
        await Wait.UntilAsync(() => _input.Reader.Count == 0, "batcher took the late record");
        Assert.Equal(0, _output.Reader.Count);

        _time.Advance(TimeSpan.FromSeconds(0.5));
        await Wait.UntilAsync(() => _output.Reader.Count == 1, "window cut");

        List<Batch> batches = await DrainAsync(run);
        Batch batch = Assert.Single(batches);
        Assert.Equal(4, batch.Count);
        Assert.Equal(BatchCutReason.WindowElapsed, batch.CutReason);
    }

    [Fact]
    public async Task Given_a_window_When_BatchSize_records_arrive_Then_the_batch_is_cut_at_once()
    {
        Start(BatchingOptions.ForSqs(batchSize: 20, maximumBatchingWindowInSeconds: 300), out Task run);
        Write(20);
        await Wait.UntilAsync(() => _output.Reader.Count == 1, "full batch");

        Batch batch = Assert.Single(await DrainAsync(run));
        Assert.Equal(20, batch.Count);
        Assert.Equal(BatchCutReason.BatchSizeReached, batch.CutReason);
    }

    [Fact]
    public async Task Given_a_payload_cap_When_the_next_record_would_exceed_it_Then_the_batch_is_cut_before_it_and_it_starts_the_next()
    {
        // Each record weighs 1000 body bytes + the envelope allowance: two fit under 4096, three do not.
        Write(5, bodyBytes: 1000);
        Start(BatchingOptions.ForSqs(batchSize: 10, maxPayloadBytes: 4096), out Task run);
        await Wait.UntilAsync(() => _output.Reader.Count == 3, "three batches");

        List<Batch> batches = await DrainAsync(run);
        Assert.Equal([2, 2, 1], batches.Select(b => b.Count));
        Assert.Equal(BatchCutReason.PayloadCapReached, batches[0].CutReason);
        Assert.Equal(BatchCutReason.PayloadCapReached, batches[1].CutReason);
        Assert.All(batches, b => Assert.True(b.PayloadBytes <= 4096));
        Assert.Equal(5, batches.SelectMany(b => b.Items).Distinct().Count());
    }

    [Fact]
    public async Task Given_the_six_megabyte_default_When_large_records_arrive_Then_no_batch_reaches_six_megabytes()
    {
        Write(10, bodyBytes: 1_000_000);
        Start(BatchingOptions.ForSqs(batchSize: 10), out Task run);
        await Wait.UntilAsync(() => _output.Reader.Count == 2, "two batches");

        List<Batch> batches = await DrainAsync(run);
        Assert.Equal([6, 4], batches.Select(b => b.Count));
        Assert.All(batches, b => Assert.True(b.PayloadBytes < BatchingOptions.SixMegabytes));
    }

    [Fact]
    public async Task Given_a_partial_batch_in_a_long_window_When_a_flush_is_requested_Then_it_is_cut_at_once()
    {
        Batcher batcher = Start(BatchingOptions.ForSqs(batchSize: 100, maximumBatchingWindowInSeconds: 300), out Task run);
        Write(2);
        await Wait.UntilAsync(() => _input.Reader.Count == 0, "batcher took the records");

        batcher.RequestFlush();
        await Wait.UntilAsync(() => _output.Reader.Count == 1, "flushed batch");

        Batch batch = Assert.Single(await DrainAsync(run));
        Assert.Equal(2, batch.Count);
        Assert.Equal(BatchCutReason.Flushed, batch.CutReason);
    }

    [Fact]
    public async Task Given_a_partial_batch_in_a_window_When_the_input_completes_Then_it_is_cut_without_waiting()
    {
        Start(BatchingOptions.ForSqs(batchSize: 100, maximumBatchingWindowInSeconds: 60), out Task run);
        Write(2);
        await Wait.UntilAsync(() => _input.Reader.Count == 0, "batcher took the records");

        Batch batch = Assert.Single(await DrainAsync(run));
        Assert.Equal(BatchCutReason.Flushed, batch.CutReason);
    }

    [Theory]
    [InlineData(0, 0, false, "BatchSize must be between 1 and 10,000")]
    [InlineData(10_001, 1, false, "BatchSize must be between 1 and 10,000")]
    [InlineData(11, 0, false, "MaximumBatchingWindowInSeconds must be at least 1 when BatchSize is over 10")]
    [InlineData(10, 301, false, "MaximumBatchingWindowInSeconds must be between 0 and 300")]
    [InlineData(10, -1, false, "MaximumBatchingWindowInSeconds must be between 0 and 300")]
    [InlineData(11, 0, true, "BatchSize must be between 1 and 10 for a FIFO")]
    [InlineData(10, 1, true, "not supported for FIFO")]
    public void Given_bad_SQS_options_When_built_Then_the_error_names_the_property_and_rule(int batchSize, int window, bool fifo, string expected)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => BatchingOptions.ForSqs(batchSize, window, fifo));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_no_settings_When_options_are_built_Then_AWS_defaults_apply()
    {
        Assert.Equal(10, BatchingOptions.ForSqs().BatchSize);
        Assert.Equal(0, BatchingOptions.ForSqs().MaximumBatchingWindowInSeconds);
        Assert.Equal(100, BatchingOptions.ForKinesis().BatchSize);
        Assert.Equal(6L * 1024 * 1024, BatchingOptions.ForKinesis().MaxPayloadBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchingOptions.ForKinesis(10_001));
        Assert.Equal(10_000, BatchingOptions.ForKinesis(10_000).BatchSize);
    }
}
