using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Embedded;
using static Pipeline.Core.Tests.Sources.Embedded.QueueTestKit;

namespace Pipeline.Core.Tests.Sources.Embedded;

public sealed class EmbeddedQueueSourceTests
{
    private readonly FakeTimeProvider _clock = NewClock();
    private readonly EmbeddedQueue _queue;
    private readonly EmbeddedQueueSource _source;

    public EmbeddedQueueSourceTests()
    {
        _queue = NewQueue(_clock, new EmbeddedQueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(30), ReceiveWaitTime = TimeSpan.FromSeconds(2) });
        _source = new EmbeddedQueueSource(_queue);
    }

    [Fact]
    public void Given_a_source_When_inspected_Then_it_names_the_queue_acknowledges_itself_and_reports_the_queue_visibility()
    {
        Assert.Equal("embedded://jobs", _source.Name);
        Assert.Same(_source, _source.Acknowledger);
        Assert.Equal(TimeSpan.FromSeconds(30), _source.Acknowledger.VisibilityTimeout);
    }

    [Fact]
    public async Task Given_fifteen_messages_When_the_poller_asks_for_fifty_Then_it_gets_the_sqs_maximum_of_ten()
    {
        for (int i = 0; i < 15; i++)
        {
            _queue.Send(Body($"m{i}"));
        }

        var records = await _source.ReceiveAsync(50, CancellationToken.None);

        Assert.Equal(10, records.Count);
    }

    [Fact]
    public async Task Given_an_empty_queue_When_receiving_through_the_source_Then_it_long_polls_for_the_configured_wait_time()
    {
        var poll = _source.ReceiveAsync(10, CancellationToken.None).AsTask();

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(poll.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Empty(await poll.WaitAsync(Bound));
    }

    [Theory]
    [InlineData(ItemOutcome.Succeeded)]
    [InlineData(ItemOutcome.Skipped)]
    public async Task Given_a_completed_record_When_acknowledged_Then_the_message_is_deleted(ItemOutcome outcome)
    {
        _queue.Send(Body("m"));
        var record = Assert.Single(await ReceiveNowAsync(_queue));

        await _source.AcknowledgeAsync([new ItemResult(record, outcome)], CancellationToken.None);

        Assert.True(_queue.IsEmpty);
        Assert.Equal(0, _source.StaleAcknowledgements);
    }

    [Theory]
    [InlineData(ItemOutcome.Retry)]
    [InlineData(ItemOutcome.Deferred)]
    public async Task Given_a_failed_or_deferred_record_When_acknowledged_Then_it_is_hidden_for_the_result_delay_and_its_reason_is_kept(ItemOutcome outcome)
    {
        _queue.Send(Body("m"));
        var record = Assert.Single(await ReceiveNowAsync(_queue));

        await _source.AcknowledgeAsync([new ItemResult(record, outcome, "throttled", TimeSpan.FromSeconds(7))], CancellationToken.None);

        Assert.Equal("throttled", Assert.Single(_queue.PeekAll()).LastError);
        _clock.Advance(TimeSpan.FromSeconds(7) - TimeSpan.FromTicks(1));
        Assert.Empty(await ReceiveNowAsync(_queue));
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(2, Assert.Single(await ReceiveNowAsync(_queue)).ReceiveCount);
    }

    [Fact]
    public async Task Given_a_permanent_failure_When_acknowledged_Then_it_is_visible_at_once_with_its_reason_kept()
    {
        _queue.Send(Body("m"));
        var record = Assert.Single(await ReceiveNowAsync(_queue));

        await _source.AcknowledgeAsync([ItemResult.Permanent(record, "not an image")], CancellationToken.None);

        Assert.Equal("not an image", Assert.Single(_queue.PeekAll()).LastError);
        Assert.Equal(2, Assert.Single(await ReceiveNowAsync(_queue)).ReceiveCount);
    }

    [Fact]
    public async Task Given_a_released_record_When_acknowledged_Then_it_is_visible_at_once_and_the_last_failure_reason_is_untouched()
    {
        _queue.Send(Body("m"));
        var first = Assert.Single(await ReceiveNowAsync(_queue));
        await _source.AcknowledgeAsync([ItemResult.Permanent(first, "real failure")], CancellationToken.None);
        var second = Assert.Single(await ReceiveNowAsync(_queue));

        await _source.AcknowledgeAsync([ItemResult.Unstarted(second, "shutdown")], CancellationToken.None);

        Assert.Equal("real failure", Assert.Single(_queue.PeekAll()).LastError);
        Assert.Equal(3, Assert.Single(await ReceiveNowAsync(_queue)).ReceiveCount);
    }

    [Fact]
    public async Task Given_a_mixed_batch_When_acknowledged_Then_each_outcome_is_applied_to_its_own_message()
    {
        _queue.SendBatch([Body("ok"), Body("dup"), Body("retry"), Body("bad"), Body("defer"), Body("unstarted")]);
        var r = await ReceiveNowAsync(_queue);

        await _source.AcknowledgeAsync(
            [
                ItemResult.Success(r[0], "out/ok.png"),
                ItemResult.Duplicate(r[1], "out/dup.png"),
                ItemResult.Retriable(r[2], "timeout", TimeSpan.FromMinutes(1)),
                ItemResult.Permanent(r[3], "corrupt"),
                ItemResult.Defer(r[4], "claimed elsewhere", TimeSpan.FromMinutes(2)),
                ItemResult.Unstarted(r[5], "shutdown"),
            ],
            CancellationToken.None);

        Assert.Equal(["bad", "unstarted"], await TakeBodiesAsync());
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["retry"], await TakeBodiesAsync());
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["defer"], await TakeBodiesAsync());
        Assert.True(_queue.IsEmpty);
        Assert.Equal(0, _source.StaleAcknowledgements);
    }

    [Fact]
    public async Task Given_a_record_received_again_elsewhere_When_its_old_receipt_is_acknowledged_Then_it_is_ignored_and_counted_as_stale()
    {
        _queue.Send(Body("m"));
        var old = Assert.Single(await ReceiveNowAsync(_queue));
        _clock.Advance(TimeSpan.FromSeconds(30));
        var current = Assert.Single(await ReceiveNowAsync(_queue));

        await _source.AcknowledgeAsync([ItemResult.Success(old, null)], CancellationToken.None);
        await _source.AcknowledgeAsync([ItemResult.Permanent(old, "late")], CancellationToken.None);

        Assert.Equal(2, _source.StaleAcknowledgements);
        var held = Assert.Single(_queue.PeekAll());
        Assert.Null(held.LastError);
        Assert.Equal(1, _queue.ApproximateNumberOfMessagesNotVisible);
        Assert.True(_queue.Delete(current.ReceiptHandle!));
    }

    [Fact]
    public async Task Given_records_being_worked_on_When_extended_Then_they_stay_hidden_past_the_original_timeout()
    {
        _queue.SendBatch([Body("a"), Body("b")]);
        var records = await ReceiveNowAsync(_queue);
        _clock.Advance(TimeSpan.FromSeconds(25));

        await _source.ExtendAsync(records, TimeSpan.FromSeconds(30), CancellationToken.None);

        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(await ReceiveNowAsync(_queue));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await ReceiveNowAsync(_queue)).Count);
        Assert.Equal(0, _source.StaleAcknowledgements);
    }

    [Fact]
    public async Task Given_unstarted_records_When_released_Then_they_are_visible_at_once()
    {
        _queue.SendBatch([Body("a"), Body("b")]);
        var records = await ReceiveNowAsync(_queue);

        await _source.ReleaseAsync(records, CancellationToken.None);

        Assert.Equal(2, _queue.ApproximateNumberOfMessages);
        Assert.All(await ReceiveNowAsync(_queue), x => Assert.Equal(2, x.ReceiveCount));
    }

    [Fact]
    public async Task Given_a_record_without_receipt_handle_When_acknowledged_Then_it_is_counted_as_stale()
    {
        var foreign = new SourceRecord { Id = "x", Body = Body("x"), Source = "elsewhere" };

        await _source.AcknowledgeAsync([ItemResult.Success(foreign, null)], CancellationToken.None);
        await _source.ReleaseAsync([foreign], CancellationToken.None);

        Assert.Equal(2, _source.StaleAcknowledgements);
    }

    [Fact]
    public async Task Given_a_message_that_always_fails_permanently_When_polled_through_the_source_Then_the_sixth_receive_dead_letters_it_with_the_reason()
    {
        var deadLetters = NewQueue(_clock, new EmbeddedQueueOptions { Name = "jobs-dlq" });
        var queue = NewQueue(_clock, new EmbeddedQueueOptions { ReceiveWaitTime = TimeSpan.Zero }, deadLetters);
        var source = new EmbeddedQueueSource(queue);
        string id = queue.Send(Body("poison"));

        for (int receive = 1; receive <= 5; receive++)
        {
            var record = Assert.Single(await source.ReceiveAsync(10, CancellationToken.None));
            await source.AcknowledgeAsync([ItemResult.Permanent(record, $"bad image ({receive})")], CancellationToken.None);
        }

        Assert.Empty(await source.ReceiveAsync(10, CancellationToken.None));

        var dead = Assert.Single(deadLetters.PeekAll());
        Assert.Equal(id, dead.MessageId);
        Assert.Equal(5, dead.ReceiveCount);
        Assert.Equal("bad image (5)", dead.LastError);
        Assert.True(queue.IsEmpty);
    }

    /// <summary>Receives what is visible now and deletes it, so it cannot reappear in a later step of the test.</summary>
    private async Task<string[]> TakeBodiesAsync()
    {
        var records = await ReceiveNowAsync(_queue);
        Assert.Equal(records.Count, _queue.DeleteBatch(records.Select(x => x.ReceiptHandle!).ToList()));
        return records.Select(x => Text(x.Body)).ToArray();
    }
}
