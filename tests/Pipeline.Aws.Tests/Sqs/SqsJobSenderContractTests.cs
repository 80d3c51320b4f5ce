using Amazon.SQS;
using Pipeline.Aws.Sqs;
using Pipeline.Testing.Emulators;
using static Pipeline.Aws.Tests.Sqs.Fakes.SqsTestKit;

namespace Pipeline.Aws.Tests.Sqs;

/// <summary>The sender and the queue resolver against a real queue on each emulator.</summary>
public abstract class SqsJobSenderContractTests(EmulatorFixture emulator)
{
    [Fact]
    public async Task Given_a_queue_with_a_small_MaximumMessageSize_When_a_job_is_larger_Then_the_send_is_refused_naming_the_job_and_both_sizes()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("small"), maximumMessageSize: 1024);
        Assert.Equal(1024, queue.MaximumMessageSize);
        var sender = new SqsJobSender(sqs, queue);
        string big = $$"""{"jobId":"too-big","source":"in/{{new string('x', 1500)}}.jpg"}""";

        SqsMessageTooLargeException refused = await Assert.ThrowsAsync<SqsMessageTooLargeException>(() =>
            sender.SendAsync([new SqsOutgoingMessage(Job("fine")), new SqsOutgoingMessage(big) { JobId = "too-big" }]));

        Assert.Equal(1024, refused.Limit);
        Assert.Equal(big.Length, refused.Size);
        Assert.Contains("too-big", refused.Message, StringComparison.Ordinal);
        Assert.Contains("1,024", refused.Message, StringComparison.Ordinal);
        Assert.Contains(big.Length.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), refused.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0), await CountAsync(sqs, queue.Url)); // nothing half-sent
    }

    [Fact]
    public async Task Given_many_jobs_When_they_are_sent_Then_every_one_arrives_once_and_ids_come_back_in_order()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("send"));
        var sender = new SqsJobSender(sqs, queue, new SqsSenderOptions { MaxRequestBytes = 4096 });
        // 2 KB bodies: the 4 KB request cap cuts chunks of one or two, not ten.
        List<SqsOutgoingMessage> messages = Enumerable.Range(0, 23)
            .Select(i => new SqsOutgoingMessage($$"""{"jobId":"j{{i}}","source":"in/{{new string('y', 2000)}}"}""")).ToList();

        IReadOnlyList<string> ids = await sender.SendAsync(messages);

        Assert.Equal(23, ids.Distinct().Count());
        var received = await ReceiveAllAsync(sqs, queue.Url, 23);
        Assert.Equal(ids.Order(StringComparer.Ordinal), received.Select(m => m.MessageId).Order(StringComparer.Ordinal));
        Assert.Equal(messages[5].Body, received.Single(m => m.MessageId == ids[5]).Body);
    }

    [Fact]
    public async Task Given_a_queue_named_by_URL_name_or_ARN_When_resolved_Then_each_gives_the_same_queue_and_a_missing_one_is_named()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        SqsQueueInfo dlq = await CreateQueueAsync(sqs, Unique("dlq"));
        SqsQueueInfo queue = await CreateQueueAsync(sqs, Unique("resolve"), visibilitySeconds: 7, deadLetter: dlq, maxReceiveCount: 4);

        Assert.Equal(queue.Url, await SqsQueues.ResolveUrlAsync(sqs, queue.Name));
        Assert.Equal(queue.Url, await SqsQueues.ResolveUrlAsync(sqs, queue.Arn!));
        Assert.Equal(TimeSpan.FromSeconds(7), queue.VisibilityTimeout);
        Assert.Equal(new SqsRedrivePolicy(dlq.Arn!, 4), queue.RedrivePolicy);
        Assert.False(queue.IsFifo);
        SqsQueueNotFoundException missing = await Assert.ThrowsAsync<SqsQueueNotFoundException>(() => SqsQueues.ResolveUrlAsync(sqs, "no-such-queue-" + Guid.NewGuid().ToString("N")));
        Assert.Contains("no-such-queue-", missing.Message, StringComparison.Ordinal);
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class SqsJobSenderOnMoto(MotoFixture f) : SqsJobSenderContractTests(f);

[Collection(EmulatorCollections.Fauxqs)]
public sealed class SqsJobSenderOnFauxqs(FauxqsFixture f) : SqsJobSenderContractTests(f);
