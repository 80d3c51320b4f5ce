using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Client.Hosting;
using Pipeline.Client.Jobs;
using Pipeline.Client.Status;
using Pipeline.Client.Tests.Fakes;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Records;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Client.Tests.Hosting;

[Collection(EmulatorCollections.Moto)]
public sealed class AddBackgroundRemovalJobsTests(MotoFixture moto)
{
    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<IServiceCollection>? more = null)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddBackgroundRemovalJobs(configuration.GetSection(BackgroundRemovalJobsOptions.DefaultSectionName));
        more?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task Given_configuration_naming_a_queue_on_moto_When_a_job_is_enqueued_through_the_container_Then_it_is_on_the_queue()
    {
        using IAmazonSQS sqs = moto.Endpoint.CreateSqs();
        string name = $"di-{Guid.NewGuid():N}";
        string url = (await sqs.CreateQueueAsync(name)).QueueUrl;
        await using ServiceProvider provider = Build(new()
        {
            ["BackgroundRemovalJobs:Queue"] = name,
            ["BackgroundRemovalJobs:ServiceUrl"] = moto.Endpoint.ServiceUrl!.ToString(),
            ["BackgroundRemovalJobs:Region"] = "us-east-1",
        });
        provider.GetRequiredService<IStartupValidator>().Validate();

        string id = await provider.GetRequiredService<IBackgroundRemovalJobs>().EnqueueAsync(new JobRequest { Source = "s3://in/di.jpg" });

        Job? job = null;
        await Wait.UntilAsync(
            async () =>
            {
                var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
                foreach (var message in received.Messages ?? [])
                {
                    Assert.True(JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(message.Body), out job, out string? error), error);
                }

                return job is not null;
            },
            "the job on the queue",
            TimeSpan.FromSeconds(30));
        Assert.Equal(id, job!.JobId);
        Assert.Equal("s3://in/di.jpg", job.Source);
    }

    [Fact]
    public async Task Given_options_in_code_naming_a_stream_on_moto_When_a_job_is_enqueued_Then_it_is_on_the_stream_under_its_id()
    {
        using var kinesis = moto.Endpoint.CreateKinesis();
        string stream = $"di-{Guid.NewGuid():N}";
        await kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = stream, ShardCount = 1 });
        await Wait.UntilAsync(
            async () => (await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = stream })).StreamDescriptionSummary.StreamStatus == StreamStatus.Active,
            $"stream {stream} ACTIVE");
        var services = new ServiceCollection();
        services.AddBackgroundRemovalJobs(o =>
        {
            o.Stream = stream;
            o.ServiceUrl = moto.Endpoint.ServiceUrl!.ToString();
        });
        await using ServiceProvider provider = services.BuildServiceProvider();

        string id = await provider.GetRequiredService<IBackgroundRemovalJobs>().EnqueueAsync(new JobRequest { Source = "s3://in/k.jpg" });

        var shard = Assert.Single(await kinesis.ListAllShardsAsync(stream));
        string iterator = (await kinesis.GetShardIteratorAsync(new GetShardIteratorRequest { StreamName = stream, ShardId = shard.ShardId, ShardIteratorType = ShardIteratorType.TrimHorizon })).ShardIterator;
        var record = Assert.Single((await kinesis.GetRecordsAsync(new GetRecordsRequest { ShardIterator = iterator })).Records);
        Assert.Equal(id, record.PartitionKey);
        Assert.Contains(id, Encoding.UTF8.GetString(record.Data.Span), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "neither is set")]
    [InlineData("jobs", "jobs-stream", "not both")]
    public void Given_configuration_with_no_transport_or_both_When_validated_at_start_Then_the_message_says_which(string? queue, string? stream, string expected)
    {
        using ServiceProvider provider = Build(new() { ["BackgroundRemovalJobs:Queue"] = queue, ["BackgroundRemovalJobs:Stream"] = stream });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("Queue", error.Message, StringComparison.Ordinal);
        Assert.Contains("Stream", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_service_url_that_is_not_a_url_When_validated_Then_the_message_names_it()
    {
        using ServiceProvider provider = Build(new() { ["BackgroundRemovalJobs:Queue"] = "jobs", ["BackgroundRemovalJobs:ServiceUrl"] = "localhost:4566" });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BackgroundRemovalJobsOptions>>().Value);

        Assert.Contains("ServiceUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("localhost:4566", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_registered_record_lookup_When_status_is_asked_through_the_container_Then_it_answers_from_it()
    {
        var lookup = new ListJobRecordLookup();
        lookup.Records.Add(new IdempotencyRecord("job-1#v1", IdempotencyStatus.Completed, "w", null, "m", "s3://out/1.png", null) { JobKey = "job-1", UpdatedAt = DateTimeOffset.UnixEpoch });
        using ServiceProvider provider = Build(new() { ["BackgroundRemovalJobs:Queue"] = "jobs" }, s => s.AddSingleton<IJobRecordLookup>(lookup));

        JobStatus status = await provider.GetRequiredService<IBackgroundRemovalJobs>().GetStatusAsync("job-1");

        Assert.Equal(JobState.Done, status.State);
        Assert.Equal("s3://out/1.png", status.ResultLocation);
    }

    [Fact]
    public async Task Given_no_idempotency_table_When_status_is_asked_Then_it_says_which_setting_is_missing()
    {
        using ServiceProvider provider = Build(new() { ["BackgroundRemovalJobs:Queue"] = "jobs" });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<IBackgroundRemovalJobs>().GetStatusAsync("job-1"));

        Assert.Contains("IdempotencyTable", error.Message, StringComparison.Ordinal);
    }
}
