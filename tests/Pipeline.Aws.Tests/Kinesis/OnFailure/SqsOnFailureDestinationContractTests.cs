using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws.Kinesis.OnFailure;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Kinesis.OnFailure;

public abstract class SqsOnFailureDestinationContractTests(EmulatorFixture emulator)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Given_a_queue_by_name_or_url_When_a_record_is_sent_Then_the_same_record_is_received(bool byUrl)
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        string name = $"onfailure-{Guid.NewGuid():N}";
        string url = (await sqs.CreateQueueAsync(name)).QueueUrl;
        KinesisFailureRecord record = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(7, KinesisFailureRecordTests.Now.AddSeconds(-30)), KinesisFailureRecordTests.Now);
        var destination = new SqsOnFailureDestination(sqs, byUrl ? url : name);

        await destination.SendAsync(record, CancellationToken.None);

        ReceiveMessageResponse received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
        Message message = Assert.Single(received.Messages);
        Assert.Equal(KinesisFailureJson.Serialize(record), message.Body);
        Assert.Equal(record, KinesisFailureJson.Deserialize(message.Body));
    }

    [Fact]
    public async Task Given_two_records_When_sent_in_turn_Then_both_arrive()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        string name = $"onfailure-{Guid.NewGuid():N}";
        string url = (await sqs.CreateQueueAsync(name)).QueueUrl;
        var destination = new SqsOnFailureDestination(sqs, name);
        KinesisFailureRecord first = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(1, KinesisFailureRecordTests.Now), KinesisFailureRecordTests.Now);
        KinesisFailureRecord second = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(2, KinesisFailureRecordTests.Now), KinesisFailureRecordTests.Now.AddSeconds(1));

        await destination.SendAsync(first, CancellationToken.None);
        await destination.SendAsync(second, CancellationToken.None);

        var bodies = new List<string>();
        await Pipeline.Testing.Wait.UntilAsync(
            async () =>
            {
                var r = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
                bodies.AddRange(r.Messages.Select(m => m.Body));
                return bodies.Count >= 2;
            },
            "both on-failure records received",
            TimeSpan.FromSeconds(10));
        Assert.Equal([1, 2], bodies.Select(b => KinesisFailureJson.Deserialize(b).KinesisBatchInfo.BatchSize).Order());
    }

    [Fact]
    public async Task Given_an_unknown_queue_When_a_record_is_sent_Then_the_typed_error_names_the_queue()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        string name = $"missing-{Guid.NewGuid():N}";
        var destination = new SqsOnFailureDestination(sqs, name);
        KinesisFailureRecord record = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(2, KinesisFailureRecordTests.Now), KinesisFailureRecordTests.Now);

        var ex = await Assert.ThrowsAsync<OnFailureDeliveryException>(() => destination.SendAsync(record, CancellationToken.None));

        Assert.Equal(name, ex.Destination);
        Assert.Contains($"'{name}' does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains(record.KinesisBatchInfo.StartSequenceNumber, ex.Message, StringComparison.Ordinal);
        Assert.Equal(record.KinesisBatchInfo, ex.Batch);
    }

    [Fact]
    public async Task Given_the_url_of_a_queue_that_does_not_exist_When_a_record_is_sent_Then_it_is_not_retried_and_the_error_names_the_url()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        string existing = (await sqs.CreateQueueAsync($"onfailure-{Guid.NewGuid():N}")).QueueUrl;
        string missing = existing[..(existing.LastIndexOf('/') + 1)] + $"missing-{Guid.NewGuid():N}";
        var destination = new SqsOnFailureDestination(sqs, missing, new SqsOnFailureDestinationOptions { BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) });
        KinesisFailureRecord record = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(1, KinesisFailureRecordTests.Now), KinesisFailureRecordTests.Now);

        var ex = await Assert.ThrowsAsync<OnFailureDeliveryException>(() => destination.SendAsync(record, CancellationToken.None));

        Assert.Equal(missing, ex.Destination);
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ex.Attempts);
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class SqsOnFailureDestinationOnMoto(MotoFixture f) : SqsOnFailureDestinationContractTests(f);

[Collection(EmulatorCollections.Fauxqs)]
public sealed class SqsOnFailureDestinationOnFauxqs(FauxqsFixture f) : SqsOnFailureDestinationContractTests(f);

public sealed class SqsOnFailureDestinationRetryTests
{
    [Fact]
    public async Task Given_an_endpoint_that_refuses_connections_When_a_record_is_sent_Then_it_retries_max_attempts_and_throws_the_typed_error()
    {
        // Port 1 on loopback: nothing listens, so every attempt fails at once with a connection error (transient).
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = "http://127.0.0.1:1", MaxErrorRetry = 0, AuthenticationRegion = "us-east-1" });
        const string url = "http://127.0.0.1:1/123456789012/onfailure";
        var options = new SqsOnFailureDestinationOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(4) };
        var destination = new SqsOnFailureDestination(sqs, url, options);
        KinesisFailureRecord record = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(2, KinesisFailureRecordTests.Now), KinesisFailureRecordTests.Now);

        var ex = await Assert.ThrowsAsync<OnFailureDeliveryException>(() => destination.SendAsync(record, CancellationToken.None));

        Assert.Equal(3, ex.Attempts);
        Assert.Equal(url, ex.Destination);
        Assert.Contains("after 3 attempt(s)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_cancelled_token_When_a_record_is_sent_Then_cancellation_is_not_wrapped()
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = "http://127.0.0.1:1", MaxErrorRetry = 0, AuthenticationRegion = "us-east-1" });
        var destination = new SqsOnFailureDestination(sqs, "http://127.0.0.1:1/123456789012/onfailure");
        KinesisFailureRecord record = KinesisFailureRecordTests.Sample(KinesisFailureRecordTests.Batch(1, KinesisFailureRecordTests.Now), KinesisFailureRecordTests.Now);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => destination.SendAsync(record, new CancellationToken(canceled: true)));
    }

    [Theory]
    [InlineData(0, 200, 5000)]
    [InlineData(3, -1, 5000)]
    [InlineData(3, 200, 100)]
    public void Given_bad_options_When_validated_Then_they_are_refused(int attempts, int baseMs, int maxMs)
    {
        var options = new SqsOnFailureDestinationOptions { MaxAttempts = attempts, BaseDelay = TimeSpan.FromMilliseconds(baseMs), MaxDelay = TimeSpan.FromMilliseconds(maxMs) };

        Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());
    }
}
