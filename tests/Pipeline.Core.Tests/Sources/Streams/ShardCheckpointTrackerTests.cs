using Pipeline.Core.Sources.Streams;

namespace Pipeline.Core.Tests.Sources.Streams;

public sealed class ShardCheckpointTrackerTests
{
    private const string Shard = "shardId-000000000000";

    [Fact]
    public void Given_records_finished_out_of_order_When_a_gap_remains_Then_the_checkpoint_stays_below_the_gap()
    {
        var tracker = new ShardCheckpointTracker(Shard);
        foreach (string s in new[] { "100", "200", "300", "400" })
        {
            tracker.Track(s);
        }

        Assert.Null(tracker.Complete("200"));
        Assert.Null(tracker.Complete("400"));
        Assert.Equal("200", tracker.Complete("100"));
        Assert.Equal(2, tracker.Pending);
        Assert.Equal("400", tracker.Complete("300"));
        Assert.Equal(0, tracker.Pending);
    }

    [Fact]
    public void Given_sequence_numbers_of_different_lengths_When_compared_Then_the_longer_is_later()
    {
        Assert.True(SequenceNumbers.Compare("49590338271490256608559692538361571095921575989136588898", "9") > 0);
        Assert.True(SequenceNumbers.Compare("123", "124") < 0);
        Assert.Equal(0, SequenceNumbers.Compare("77", "77"));
        Assert.False(SequenceNumbers.IsValid("012"));
        Assert.False(SequenceNumbers.IsValid("12a"));
        Assert.False(SequenceNumbers.IsValid(""));
        Assert.True(SequenceNumbers.IsValid("0"));
    }

    [Fact]
    public void Given_a_record_out_of_shard_order_When_tracked_Then_it_is_refused_naming_both()
    {
        var tracker = new ShardCheckpointTracker(Shard);
        tracker.Track("1000");

        var ex = Assert.Throws<InvalidOperationException>(() => tracker.Track("999"));

        Assert.Contains("999", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1000", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => tracker.Complete("5"));
        Assert.Throws<ArgumentException>(() => tracker.Track("not-a-number"));
    }

    [Fact]
    public void Given_a_moved_checkpoint_When_taken_twice_Then_only_the_first_take_reports_it()
    {
        var tracker = new ShardCheckpointTracker(Shard, initialCheckpoint: "10");
        tracker.Track("11");
        Assert.False(tracker.TryTakeNewCheckpoint(out _));

        tracker.Complete("11");

        Assert.True(tracker.TryTakeNewCheckpoint(out string checkpoint));
        Assert.Equal("11", checkpoint);
        Assert.False(tracker.TryTakeNewCheckpoint(out _));
    }

    [Fact]
    public void Given_a_failed_batch_When_rewound_Then_its_records_can_be_tracked_again_from_the_checkpoint()
    {
        var tracker = new ShardCheckpointTracker(Shard);
        tracker.Track("1");
        tracker.Track("2");
        tracker.Track("3");
        tracker.Complete("1");

        tracker.Rewind();
        tracker.Track("2");
        tracker.Track("3");

        Assert.Equal("1", tracker.Checkpoint);
        Assert.Equal("1", tracker.Complete("3"));
        Assert.Equal("3", tracker.Complete("2"));
    }

    [Fact]
    public async Task Given_ten_lanes_finishing_concurrently_When_all_are_done_Then_the_checkpoint_is_the_last_record()
    {
        var tracker = new ShardCheckpointTracker(Shard);
        string[] sequence = [.. Enumerable.Range(1, 10_000).Select(i => (1_000_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture))];
        foreach (string s in sequence)
        {
            tracker.Track(s);
        }

        await Parallel.ForEachAsync(Enumerable.Range(0, 10), async (lane, _) =>
        {
            foreach (string s in sequence.Where((_, i) => i % 10 == lane).Reverse())
            {
                tracker.Complete(s);
            }

            await Task.Yield();
        });

        Assert.Equal(sequence[^1], tracker.Checkpoint);
        Assert.Equal(0, tracker.Pending);
    }
}
