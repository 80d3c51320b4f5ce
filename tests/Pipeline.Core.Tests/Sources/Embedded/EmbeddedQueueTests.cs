using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Sources.Embedded;
using static Pipeline.Core.Tests.Sources.Embedded.QueueTestKit;

namespace Pipeline.Core.Tests.Sources.Embedded;

public sealed class EmbeddedQueueTests
{
    private readonly FakeTimeProvider _clock = NewClock();

    [Fact]
    public async Task Given_a_sent_message_When_received_Then_the_record_carries_id_body_attributes_source_and_sent_time()
    {
        var queue = NewQueue(_clock);
        var attributes = new Dictionary<string, string> { ["tenant"] = "a" };
        string id = queue.Send(Body("hello"), attributes);

        var record = await ReceiveOneAsync(queue);

        Assert.Equal(id, record.Id);
        Assert.Equal("hello", Text(record.Body));
        Assert.Equal("a", record.Attributes["tenant"]);
        Assert.Equal("embedded://jobs", record.Source);
        Assert.Equal(Start, record.SentAt);
        Assert.Equal(1, record.ReceiveCount);
        Assert.False(string.IsNullOrEmpty(record.ReceiptHandle));
    }

    [Fact]
    public void Given_two_sends_When_comparing_ids_Then_each_message_has_its_own_id()
    {
        var queue = NewQueue(_clock);

        Assert.NotEqual(queue.Send(Body("a")), queue.Send(Body("a")));
    }

    [Fact]
    public async Task Given_a_sent_body_When_the_caller_reuses_its_buffer_Then_the_message_keeps_what_was_sent()
    {
        var queue = NewQueue(_clock);
        byte[] buffer = "abc"u8.ToArray();
        queue.Send(buffer);

        buffer[0] = (byte)'X';

        Assert.Equal("abc", Text((await ReceiveOneAsync(queue)).Body));
    }

    [Fact]
    public async Task Given_a_received_message_When_its_visibility_timeout_has_not_passed_Then_it_is_hidden()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        await ReceiveOneAsync(queue);

        _clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));

        Assert.Empty(await ReceiveNowAsync(queue));
        Assert.Equal(0, queue.ApproximateNumberOfMessages);
        Assert.Equal(1, queue.ApproximateNumberOfMessagesNotVisible);
        Assert.False(queue.IsEmpty);
    }

    [Fact]
    public async Task Given_a_received_message_When_visibility_expires_Then_it_is_received_again()
    {
        var queue = NewQueue(_clock);
        string id = queue.Send(Body("m"));
        await ReceiveOneAsync(queue);

        _clock.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(1, queue.ApproximateNumberOfMessages);
        Assert.Equal(0, queue.ApproximateNumberOfMessagesNotVisible);
        var again = await ReceiveOneAsync(queue);
        Assert.Equal(id, again.Id);
        Assert.Equal(2, again.ReceiveCount);
    }

    [Fact]
    public async Task Given_a_message_When_received_repeatedly_Then_its_receive_count_grows_by_one_each_time()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));

        for (int expected = 1; expected <= 4; expected++)
        {
            var record = await ReceiveOneAsync(queue);
            Assert.Equal(expected, record.ReceiveCount);
            _clock.Advance(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task Given_a_message_When_received_twice_Then_each_receive_has_a_new_receipt_handle()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var first = await ReceiveOneAsync(queue);
        _clock.Advance(TimeSpan.FromSeconds(30));

        var second = await ReceiveOneAsync(queue);

        Assert.NotEqual(first.ReceiptHandle, second.ReceiptHandle);
    }

    [Fact]
    public async Task Given_a_stale_receipt_handle_When_deleting_Then_it_is_rejected_and_the_message_stays()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var first = await ReceiveOneAsync(queue);
        _clock.Advance(TimeSpan.FromSeconds(30));
        var second = await ReceiveOneAsync(queue);

        Assert.False(queue.Delete(first.ReceiptHandle!));

        Assert.Equal(1, queue.ApproximateNumberOfMessagesNotVisible);
        Assert.True(queue.Delete(second.ReceiptHandle!));
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task Given_a_stale_receipt_handle_When_changing_visibility_Then_it_is_rejected_and_the_message_stays_hidden()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var first = await ReceiveOneAsync(queue);
        _clock.Advance(TimeSpan.FromSeconds(30));
        await ReceiveOneAsync(queue);

        Assert.False(queue.ChangeVisibility(first.ReceiptHandle!, TimeSpan.Zero));

        Assert.Empty(await ReceiveNowAsync(queue));
    }

    [Fact]
    public void Given_unknown_receipt_handles_When_deleting_or_changing_visibility_Then_both_are_rejected()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));

        Assert.False(queue.Delete("no-such-handle"));
        Assert.False(queue.ChangeVisibility("no-such-handle", TimeSpan.Zero));
        Assert.Equal(0, queue.DeleteBatch(["no-such-handle", "another"]));
        Assert.Equal(1, queue.ApproximateNumberOfMessages);
    }

    [Fact]
    public async Task Given_the_latest_receipt_handle_When_deleting_twice_Then_only_the_first_delete_succeeds()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);

        Assert.True(queue.Delete(record.ReceiptHandle!));
        Assert.False(queue.Delete(record.ReceiptHandle!));

        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(await ReceiveNowAsync(queue));
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task Given_a_message_whose_visibility_expired_but_not_yet_received_again_When_deleting_with_its_latest_handle_Then_it_is_deleted()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);
        _clock.Advance(TimeSpan.FromSeconds(31));

        Assert.True(queue.Delete(record.ReceiptHandle!));

        Assert.Empty(await ReceiveNowAsync(queue));
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task Given_a_message_whose_visibility_expired_When_changing_its_visibility_Then_it_is_rejected_because_it_is_not_in_flight()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);
        _clock.Advance(TimeSpan.FromSeconds(30));

        Assert.False(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.FromMinutes(5)));

        Assert.Single(await ReceiveNowAsync(queue));
    }

    [Fact]
    public async Task Given_an_in_flight_message_When_visibility_is_changed_to_zero_Then_it_is_visible_at_once()
    {
        var queue = NewQueue(_clock);
        string id = queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);

        Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.Zero));

        Assert.Equal(1, queue.ApproximateNumberOfMessages);
        var again = await ReceiveOneAsync(queue);
        Assert.Equal(id, again.Id);
        Assert.Equal(2, again.ReceiveCount);
    }

    [Fact]
    public async Task Given_an_in_flight_message_When_visibility_is_extended_Then_it_stays_hidden_until_the_new_deadline_counted_from_now()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);
        _clock.Advance(TimeSpan.FromSeconds(20));

        Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.FromMinutes(2)));

        _clock.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromTicks(1));
        Assert.Empty(await ReceiveNowAsync(queue));
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Single(await ReceiveNowAsync(queue));
    }

    [Fact]
    public async Task Given_an_in_flight_message_When_visibility_is_shortened_Then_it_reappears_at_the_earlier_deadline()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);

        Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.FromSeconds(5)));

        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Single(await ReceiveNowAsync(queue));
    }

    [Fact]
    public async Task Given_many_in_flight_messages_with_scattered_deadlines_When_time_passes_Then_each_reappears_exactly_at_its_own_deadline()
    {
        var queue = NewQueue(_clock);
        var random = new Random(1234);
        var dueAt = new Dictionary<string, int>();
        for (int i = 0; i < 20; i++)
        {
            queue.SendBatch([Body("a"), Body("b"), Body("c"), Body("d"), Body("e"), Body("f"), Body("g"), Body("h"), Body("i"), Body("j")]);
            foreach (var record in await ReceiveNowAsync(queue))
            {
                // Every third message is deleted, so removals from the middle of the in-flight order are exercised too.
                if (dueAt.Count % 3 == 2)
                {
                    Assert.True(queue.Delete(record.ReceiptHandle!));
                    dueAt[record.Id] = -1;
                    continue;
                }

                int seconds = random.Next(1, 60);
                Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.FromSeconds(seconds)));
                dueAt[record.Id] = seconds;
            }
        }

        for (int second = 1; second <= 60; second++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            var expected = dueAt.Where(kv => kv.Value == second).Select(kv => kv.Key).ToHashSet();
            var appeared = new HashSet<string>();
            IReadOnlyList<Pipeline.Core.Records.SourceRecord> batch;
            while ((batch = await ReceiveNowAsync(queue)).Count > 0)
            {
                foreach (var record in batch)
                {
                    appeared.Add(record.Id);
                    Assert.True(queue.Delete(record.ReceiptHandle!));
                }
            }

            Assert.True(expected.SetEquals(appeared), $"at {second} s expected {expected.Count} messages, got {appeared.Count}");
        }

        Assert.True(queue.IsEmpty);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(43_201)]
    public async Task Given_a_visibility_outside_0_to_12_hours_When_changing_visibility_Then_it_is_refused(int seconds)
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var record = await ReceiveOneAsync(queue);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.FromSeconds(seconds)));

        Assert.Equal("visibility", ex.ParamName);
    }

    [Fact]
    public async Task Given_a_dead_letter_queue_When_a_message_was_received_five_times_Then_the_next_receive_attempt_moves_it_with_count_five_and_the_last_error()
    {
        var deadLetters = NewQueue(_clock, new EmbeddedQueueOptions { Name = "jobs-dlq" });
        var queue = NewQueue(_clock, deadLetterQueue: deadLetters);
        var attributes = new Dictionary<string, string> { ["kind"] = "cutout" };
        string id = queue.Send(Body("poison"), attributes);

        for (int receive = 1; receive <= 5; receive++)
        {
            var record = await ReceiveOneAsync(queue);
            Assert.Equal(receive, record.ReceiveCount);
            Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.FromSeconds(10), $"failure {receive}"));
            _clock.Advance(TimeSpan.FromSeconds(10));
        }

        // Visible again after the fifth receive, yet no timer moves it: SQS only redrives on a receive attempt.
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Single(queue.PeekAll());
        Assert.True(deadLetters.IsEmpty);
        DateTimeOffset attemptAt = _clock.GetUtcNow();

        Assert.Empty(await ReceiveNowAsync(queue));

        Assert.True(queue.IsEmpty);
        var dead = Assert.Single(deadLetters.PeekAll());
        Assert.Equal(id, dead.MessageId);
        Assert.Equal("poison", Text(dead.Body));
        Assert.Equal("cutout", dead.Attributes["kind"]);
        Assert.Equal(5, dead.ReceiveCount);
        Assert.Equal("failure 5", dead.LastError);
        Assert.Equal(Start, dead.SentAt);
        Assert.Equal(attemptAt, dead.MovedAt);
        Assert.Equal(1, deadLetters.ApproximateNumberOfMessages);
    }

    [Fact]
    public async Task Given_a_dead_letter_and_healthy_messages_When_receiving_Then_the_healthy_ones_arrive_in_that_same_receive()
    {
        var deadLetters = NewQueue(_clock, new EmbeddedQueueOptions { Name = "dlq" });
        var queue = NewQueue(_clock, new EmbeddedQueueOptions { MaxReceiveCount = 1 }, deadLetters);
        string poison = queue.Send(Body("poison"));
        var first = await ReceiveOneAsync(queue);
        Assert.True(queue.ChangeVisibility(first.ReceiptHandle!, TimeSpan.Zero, "bad image"));
        string healthy1 = queue.Send(Body("ok-1"));
        string healthy2 = queue.Send(Body("ok-2"));

        var batch = await queue.ReceiveAsync(2, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal([healthy1, healthy2], batch.Select(r => r.Id));
        var dead = Assert.Single(deadLetters.PeekAll());
        Assert.Equal(poison, dead.MessageId);
        Assert.Equal("bad image", dead.LastError);
    }

    [Fact]
    public async Task Given_no_dead_letter_queue_When_a_message_keeps_failing_Then_it_is_redelivered_past_max_receive_count()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));

        for (int receive = 1; receive <= 12; receive++)
        {
            var record = await ReceiveOneAsync(queue);
            Assert.Equal(receive, record.ReceiveCount);
            Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.Zero, "still failing"));
        }

        Assert.Equal(1, queue.ApproximateNumberOfMessages);
    }

    [Fact]
    public async Task Given_an_empty_queue_When_long_polling_Then_a_send_wakes_the_receive()
    {
        var queue = NewQueue(_clock);
        Task<IReadOnlyList<Pipeline.Core.Records.SourceRecord>> poll = queue.ReceiveAsync(10, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask();
        Assert.False(poll.IsCompleted);

        string id = queue.Send(Body("m"));

        var record = Assert.Single(await poll.WaitAsync(Bound));
        Assert.Equal(id, record.Id);
    }

    [Fact]
    public async Task Given_an_empty_queue_When_long_polling_Then_it_returns_empty_once_the_wait_time_passes_on_the_clock()
    {
        var queue = NewQueue(_clock);
        var poll = queue.ReceiveAsync(10, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask();

        _clock.Advance(TimeSpan.FromSeconds(19));
        Assert.False(poll.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Empty(await poll.WaitAsync(Bound));
    }

    [Fact]
    public async Task Given_an_in_flight_message_When_long_polling_Then_the_receive_wakes_when_its_visibility_expires()
    {
        var queue = NewQueue(_clock, new EmbeddedQueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(5) });
        string id = queue.Send(Body("m"));
        await ReceiveOneAsync(queue);
        var poll = queue.ReceiveAsync(10, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask();
        Assert.False(poll.IsCompleted);

        _clock.Advance(TimeSpan.FromSeconds(5));

        var record = Assert.Single(await poll.WaitAsync(Bound));
        Assert.Equal(id, record.Id);
        Assert.Equal(2, record.ReceiveCount);
    }

    [Fact]
    public async Task Given_a_long_poll_When_an_in_flight_message_is_made_visible_Then_the_poll_wakes()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var first = await ReceiveOneAsync(queue);
        var poll = queue.ReceiveAsync(10, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask();

        Assert.True(queue.ChangeVisibility(first.ReceiptHandle!, TimeSpan.Zero));

        Assert.Equal(2, Assert.Single(await poll.WaitAsync(Bound)).ReceiveCount);
    }

    [Fact]
    public async Task Given_a_long_poll_When_an_in_flight_message_gets_an_earlier_deadline_Then_the_poll_wakes_at_that_deadline()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        var first = await ReceiveOneAsync(queue);
        var poll = queue.ReceiveAsync(10, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask();

        Assert.True(queue.ChangeVisibility(first.ReceiptHandle!, TimeSpan.FromSeconds(3)));
        _clock.Advance(TimeSpan.FromSeconds(3));

        // The clock stops at 3 s, far before the 20 s wait ends: only the earlier deadline can have woken the poll.
        Assert.Equal(2, Assert.Single(await poll.WaitAsync(Bound)).ReceiveCount);
    }

    [Fact]
    public async Task Given_a_long_poll_When_it_is_cancelled_Then_it_throws_OperationCanceledException()
    {
        var queue = NewQueue(_clock);
        using var cts = new CancellationTokenSource();
        var poll = queue.ReceiveAsync(10, TimeSpan.FromSeconds(20), cts.Token).AsTask();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => poll.WaitAsync(Bound));
    }

    [Fact]
    public async Task Given_four_long_polls_When_four_messages_are_sent_Then_each_poll_gets_exactly_one()
    {
        var queue = NewQueue(_clock);
        var polls = new Task<IReadOnlyList<Pipeline.Core.Records.SourceRecord>>[4];
        for (int i = 0; i < polls.Length; i++)
        {
            polls[i] = queue.ReceiveAsync(1, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask();
        }

        var sent = new HashSet<string>();
        for (int i = 0; i < polls.Length; i++)
        {
            sent.Add(queue.Send(Body($"m{i}")));
        }

        var results = await Task.WhenAll(polls).WaitAsync(Bound);
        Assert.True(sent.SetEquals(results.Select(r => Assert.Single(r).Id)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(11)]
    public void Given_max_messages_outside_1_to_10_When_receiving_Then_it_is_refused(int maxMessages)
    {
        var queue = NewQueue(_clock);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(maxMessages, TimeSpan.Zero, CancellationToken.None));

        Assert.Equal("maxMessages", ex.ParamName);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(21)]
    public void Given_a_wait_time_outside_0_to_20_seconds_When_receiving_Then_it_is_refused(int seconds)
    {
        var queue = NewQueue(_clock);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(1, TimeSpan.FromSeconds(seconds), CancellationToken.None));

        Assert.Equal("waitTime", ex.ParamName);
    }

    [Fact]
    public async Task Given_fifteen_messages_When_receiving_ten_Then_ten_come_back_oldest_first_and_five_stay_visible()
    {
        var queue = NewQueue(_clock);
        var ids = new List<string>();
        for (int i = 0; i < 15; i++)
        {
            ids.Add(queue.Send(Body($"m{i}")));
        }

        var batch = await queue.ReceiveAsync(10, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(ids.Take(10), batch.Select(r => r.Id));
        Assert.Equal(5, queue.ApproximateNumberOfMessages);
        Assert.Equal(10, queue.ApproximateNumberOfMessagesNotVisible);
    }

    [Fact]
    public void Given_a_body_over_the_maximum_size_When_sending_Then_MessageTooLargeException_names_the_size_and_the_limit()
    {
        var queue = NewQueue(_clock, new EmbeddedQueueOptions { MaximumMessageSize = 1_024 });
        queue.Send(new byte[1_024]);

        var ex = Assert.Throws<MessageTooLargeException>(() => queue.Send(new byte[1_025]));

        Assert.Equal(1_025, ex.Size);
        Assert.Equal(1_024, ex.Limit);
        Assert.Contains("1,025", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1,024", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, queue.ApproximateNumberOfMessages);
    }

    [Fact]
    public void Given_a_batch_with_one_body_too_large_When_sending_the_batch_Then_none_is_sent()
    {
        var queue = NewQueue(_clock, new EmbeddedQueueOptions { MaximumMessageSize = 1_024 });

        Assert.Throws<MessageTooLargeException>(() => queue.SendBatch([Body("ok"), new byte[2_000]]));

        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task Given_a_batch_When_sent_Then_every_body_arrives_under_the_returned_ids()
    {
        var queue = NewQueue(_clock);

        var ids = queue.SendBatch([Body("a"), Body("b"), Body("c")]);

        var batch = await ReceiveNowAsync(queue);
        Assert.Equal(ids, batch.Select(r => r.Id));
        Assert.Equal(["a", "b", "c"], batch.Select(r => Text(r.Body)));
    }

    [Fact]
    public async Task Given_two_messages_When_waiting_until_empty_Then_it_completes_only_after_the_last_delete()
    {
        var queue = NewQueue(_clock);
        queue.SendBatch([Body("a"), Body("b")]);
        var empty = queue.WaitUntilEmptyAsync(CancellationToken.None);
        var batch = await ReceiveNowAsync(queue);

        Assert.Equal(0, queue.ApproximateNumberOfMessages);
        Assert.False(empty.IsCompleted); // nothing visible, but two in flight still count
        Assert.True(queue.Delete(batch[0].ReceiptHandle!));
        Assert.False(empty.IsCompleted);
        Assert.True(queue.Delete(batch[1].ReceiptHandle!));

        await empty.WaitAsync(Bound);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public async Task Given_an_empty_queue_When_waiting_until_empty_Then_it_completes_at_once()
    {
        var queue = NewQueue(_clock);

        await queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Bound);
    }

    [Fact]
    public async Task Given_a_wait_until_empty_When_cancelled_Then_it_throws_OperationCanceledException()
    {
        var queue = NewQueue(_clock);
        queue.Send(Body("m"));
        using var cts = new CancellationTokenSource();
        var empty = queue.WaitUntilEmptyAsync(cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => empty.WaitAsync(Bound));
    }

    [Fact]
    public async Task Given_held_messages_When_peeking_Then_they_are_listed_without_being_received()
    {
        var queue = NewQueue(_clock);
        string inFlight = queue.Send(Body("a"));
        await ReceiveOneAsync(queue);
        string visible = queue.Send(Body("b"));

        var snapshot = queue.PeekAll();

        Assert.Equal([visible, inFlight], snapshot.Select(d => d.MessageId));
        Assert.All(snapshot, d => Assert.Null(d.MovedAt));
        Assert.Equal(1, (await ReceiveOneAsync(queue)).ReceiveCount);
    }

    [Fact]
    public async Task Given_dead_letters_When_moving_all_back_to_the_source_Then_they_arrive_visible_with_receive_count_zero_and_same_content()
    {
        var deadLetters = NewQueue(_clock, new EmbeddedQueueOptions { Name = "dlq" });
        var queue = NewQueue(_clock, new EmbeddedQueueOptions { MaxReceiveCount = 2 }, deadLetters);
        var attributes = new Dictionary<string, string> { ["k"] = "v" };
        string id = queue.Send(Body("retry me"), attributes);
        for (int i = 0; i < 2; i++)
        {
            var record = await ReceiveOneAsync(queue);
            Assert.True(queue.ChangeVisibility(record.ReceiptHandle!, TimeSpan.Zero, "boom"));
        }

        Assert.Empty(await ReceiveNowAsync(queue));
        Assert.Equal(2, Assert.Single(deadLetters.PeekAll()).ReceiveCount);

        Assert.Equal(1, deadLetters.MoveAllTo(queue));

        Assert.True(deadLetters.IsEmpty);
        var held = Assert.Single(queue.PeekAll());
        Assert.Equal(0, held.ReceiveCount);
        Assert.Null(held.LastError);
        Assert.Null(held.MovedAt);
        var redriven = await ReceiveOneAsync(queue);
        Assert.NotEqual(id, redriven.Id); // a redrive makes a new message, so it starts fresh
        Assert.Equal(1, redriven.ReceiveCount);
        Assert.Equal("retry me", Text(redriven.Body));
        Assert.Equal("v", redriven.Attributes["k"]);
    }

    [Fact]
    public async Task Given_an_in_flight_message_When_moved_to_another_queue_Then_its_old_handle_no_longer_works_there_or_here()
    {
        var source = NewQueue(_clock);
        var target = NewQueue(_clock, new EmbeddedQueueOptions { Name = "other" });
        source.Send(Body("m"));
        var record = await ReceiveOneAsync(source);

        Assert.Equal(1, source.MoveAllTo(target));

        Assert.False(source.Delete(record.ReceiptHandle!));
        Assert.False(target.Delete(record.ReceiptHandle!));
        Assert.Equal(1, target.ApproximateNumberOfMessages);
        Assert.True(source.IsEmpty);
    }

    [Fact]
    public void Given_a_queue_When_redriving_into_itself_Then_it_is_refused()
    {
        var queue = NewQueue(_clock);

        Assert.Throws<ArgumentException>(() => queue.MoveAllTo(queue));
    }
}
