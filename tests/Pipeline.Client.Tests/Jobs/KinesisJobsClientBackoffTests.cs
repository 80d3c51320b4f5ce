using Microsoft.Extensions.Time.Testing;
using Pipeline.Client.Jobs;
using Pipeline.Client.Tests.Fakes;
using Pipeline.Testing;

namespace Pipeline.Client.Tests.Jobs;

public sealed class KinesisJobsClientBackoffTests
{
    [Fact]
    public async Task Given_throttled_records_When_retried_Then_each_wait_is_between_half_and_all_of_the_doubled_delay_capped_at_the_maximum()
    {
        var time = new FakeTimeProvider();
        var kinesis = new ThrottlingKinesisClient(failures: 3);
        var options = new KinesisJobsClientOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(100), RetryMaxDelay = TimeSpan.FromMilliseconds(300), MaxAttempts = 5 };
        var client = new KinesisJobsClient(kinesis, "jobs", options, time);

        Task<IReadOnlyList<string>> sending = client.EnqueueManyAsync([new JobRequest { Source = "s3://in/a.jpg", JobId = "a" }]);

        // Waits after attempts 1, 2, 3: 100 ms, 200 ms, then 400 ms capped at 300 ms; each in [half, all].
        foreach ((int calls, int full) in new[] { (1, 100), (2, 200), (3, 300) })
        {
            await Wait.UntilAsync(() => Task.FromResult(kinesis.Calls == calls), $"attempt {calls}", TimeSpan.FromSeconds(5));
            time.Advance(TimeSpan.FromMilliseconds((full / 2) - 1));
            await Task.Yield();
            Assert.Equal(calls, kinesis.Calls);
            time.Advance(TimeSpan.FromMilliseconds((full / 2) + 1));
        }

        Assert.Equal(["a"], await sending.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(4, kinesis.Calls);
    }

    [Theory]
    [InlineData(0, 6, 5000, "MaxConcurrentRequests")]
    [InlineData(4, 0, 5000, "MaxAttempts")]
    [InlineData(4, 21, 5000, "MaxAttempts")]
    [InlineData(4, 6, 50, "RetryMaxDelay")]
    public void Given_options_out_of_range_When_validated_Then_the_error_names_the_property(int concurrency, int attempts, int maxDelayMs, string property)
    {
        var options = new KinesisJobsClientOptions { MaxConcurrentRequests = concurrency, MaxAttempts = attempts, RetryMaxDelay = TimeSpan.FromMilliseconds(maxDelayMs) };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());

        Assert.Equal(property, error.ParamName);
    }

    [Fact]
    public void Given_no_partition_key_and_a_job_id_over_256_characters_When_the_key_is_taken_Then_it_is_refused_naming_the_job_id_as_the_key()
    {
        string id = new('j', 300);

        var error = Assert.Throws<JobValidationException>(() => new JobRequest { Source = "s3://in/a.jpg" }.PartitionKeyFor(id));

        Assert.Contains("job id, used as the partition key", error.Message, StringComparison.Ordinal);
        Assert.Equal("customer-1", new JobRequest { Source = "s3://in/a.jpg", PartitionKey = "customer-1" }.PartitionKeyFor(id));
    }
}
