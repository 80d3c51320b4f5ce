using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws.Sqs;
using Pipeline.Client.Jobs;
using Pipeline.Client.Tests.Fakes;
using Pipeline.Core.Records;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Client.Tests.Jobs;

/// <summary>The jobs client against each SQS emulator.</summary>
public abstract class SqsJobsClientContractTests(EmulatorFixture emulator)
{
    [Fact]
    public async Task Given_25_jobs_some_with_ids_When_enqueued_together_Then_each_arrives_once_as_a_job_the_pipeline_decodes_under_the_returned_id()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        string url = (await sqs.CreateQueueAsync($"client-{Guid.NewGuid():N}")).QueueUrl;
        var client = await SqsJobsClient.CreateAsync(sqs, url);
        var requests = Enumerable.Range(0, 25).Select(i => new JobRequest { Source = $"s3://in/{i}.jpg", JobId = i % 5 == 0 ? $"mine-{i}" : null }).ToList();

        IReadOnlyList<string> ids = await client.EnqueueManyAsync(requests);

        Assert.Equal(25, ids.Distinct().Count());
        Assert.All(Enumerable.Range(0, 25).Where(i => i % 5 == 0), i => Assert.Equal($"mine-{i}", ids[i]));
        Dictionary<string, Job> seen = await ReceiveAllAsync(sqs, url, 25);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
        Assert.All(Enumerable.Range(0, 25), i => Assert.Equal($"s3://in/{i}.jpg", seen[ids[i]].Source));
    }

    [Fact]
    public async Task Given_a_batch_with_one_bad_job_When_enqueued_Then_it_throws_naming_it_and_nothing_is_sent()
    {
        using IAmazonSQS sqs = emulator.Endpoint.CreateSqs();
        string url = (await sqs.CreateQueueAsync($"client-{Guid.NewGuid():N}")).QueueUrl;
        var client = await SqsJobsClient.CreateAsync(sqs, url);

        var error = await Assert.ThrowsAsync<JobValidationException>(() => client.EnqueueManyAsync(
            [new JobRequest { Source = "s3://in/ok.jpg" }, new JobRequest { Source = "s3://in/bad.jpg", JobId = "bad-one", Background = "blue" }]));

        Assert.Contains("bad-one", error.Message, StringComparison.Ordinal);
        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
        Assert.Empty(received.Messages ?? []);
    }
    [Fact]
    public async Task Given_SQS_fails_some_entries_on_its_side_When_30_jobs_are_enqueued_Then_those_are_sent_again_and_every_job_arrives_once()
    {
        using var faults = new SendMessageBatchFaultHandler { DropEvery = 3, SenderFault = false, Code = "InternalError" };
        using IAmazonSQS sqs = SqsThrough(faults);
        string url = (await sqs.CreateQueueAsync($"client-{Guid.NewGuid():N}")).QueueUrl;
        var client = await SqsJobsClient.CreateAsync(sqs, url, new SqsSenderOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(10) });

        IReadOnlyList<string> ids = await client.EnqueueManyAsync([.. Enumerable.Range(0, 30).Select(i => new JobRequest { Source = $"s3://in/{i}.jpg" })]);

        Assert.Equal(3, faults.Dropped.Count);
        Assert.Equal(4, faults.SendMessageBatchCalls); // three batches of ten, and one more for the three failed entries
        Dictionary<string, Job> seen = await ReceiveAllAsync(sqs, url, 30);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Given_SQS_refuses_some_entries_as_the_senders_fault_When_enqueued_Then_they_are_not_retried_and_the_error_names_each_while_the_rest_arrive()
    {
        using var faults = new SendMessageBatchFaultHandler { DropEvery = 4, SenderFault = true, Code = "InvalidParameterValue" };
        using IAmazonSQS sqs = SqsThrough(faults);
        string url = (await sqs.CreateQueueAsync($"client-{Guid.NewGuid():N}")).QueueUrl;
        var client = await SqsJobsClient.CreateAsync(sqs, url, new SqsSenderOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
        var requests = Enumerable.Range(0, 8).Select(i => new JobRequest { Source = $"s3://in/{i}.jpg", JobId = $"job-{i}" }).ToList();

        var error = await Assert.ThrowsAsync<Pipeline.Aws.Sqs.SqsSendFailedException>(() => client.EnqueueManyAsync(requests));

        Assert.Equal(["job-3", "job-7"], error.Failures.Select(f => f.Job).Select(j => j.Split('\'')[1]));
        Assert.Contains("InvalidParameterValue", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, faults.SendMessageBatchCalls);
        Dictionary<string, Job> seen = await ReceiveAllAsync(sqs, url, 6);
        Assert.Equal(["job-0", "job-1", "job-2", "job-4", "job-5", "job-6"], seen.Keys.Order(StringComparer.Ordinal));
    }

    private IAmazonSQS SqsThrough(HttpMessageHandler handler)
    {
        var config = emulator.Endpoint.Configure(new AmazonSQSConfig());
        config.HttpClientFactory = new HandlerHttpClientFactory(handler);
        return new AmazonSQSClient(emulator.Endpoint.Credentials, config);
    }

    private static async Task<Dictionary<string, Job>> ReceiveAllAsync(IAmazonSQS sqs, string url, int expected)
    {
        var seen = new Dictionary<string, Job>(StringComparer.Ordinal);
        await Wait.UntilAsync(
            async () =>
            {
                var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
                foreach (var message in received.Messages ?? [])
                {
                    Assert.True(JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(message.Body), out Job? job, out string? error), error);
                    Assert.True(seen.TryAdd(job!.JobId!, job), $"job {job.JobId} arrived twice");
                    await sqs.DeleteMessageAsync(url, message.ReceiptHandle);
                }

                return seen.Count >= expected;
            },
            $"{expected} jobs on the queue",
            TimeSpan.FromSeconds(30));

        // Nothing more comes: a job sent twice would show here.
        var extra = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
        Assert.Empty(extra.Messages ?? []);
        return seen;
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class SqsJobsClientOnMoto(MotoFixture f) : SqsJobsClientContractTests(f);

[Collection(EmulatorCollections.Fauxqs)]
public sealed class SqsJobsClientOnFauxqs(FauxqsFixture f) : SqsJobsClientContractTests(f);
