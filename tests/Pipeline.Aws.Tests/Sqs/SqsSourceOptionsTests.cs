using Pipeline.Aws.Sqs;
using Pipeline.Core.Lanes;

namespace Pipeline.Aws.Tests.Sqs;

public sealed class SqsSourceOptionsTests
{
    [Theory]
    [InlineData(-1, null, 10, "WaitTimeSeconds")]
    [InlineData(21, null, 10, "WaitTimeSeconds")]
    [InlineData(20, 43_201, 10, "VisibilityTimeout")]
    [InlineData(20, null, 11, "MaxMessagesPerReceive")]
    [InlineData(20, null, 0, "MaxMessagesPerReceive")]
    public void Given_an_out_of_range_setting_When_validated_Then_the_error_names_it(int wait, int? visibilitySeconds, int perReceive, string property)
    {
        var options = new SqsSourceOptions
        {
            Queue = "jobs",
            WaitTimeSeconds = wait,
            VisibilityTimeout = visibilitySeconds is { } v ? TimeSpan.FromSeconds(v) : null,
            MaxMessagesPerReceive = perReceive,
        };

        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());
        Assert.Equal(property, error.ParamName);
    }

    [Fact]
    public void Given_defaults_When_validated_Then_they_are_the_documented_ones()
    {
        SqsSourceOptions options = new SqsSourceOptions { Queue = "jobs" }.Validate();
        Assert.Equal(20, options.WaitTimeSeconds);
        Assert.Null(options.VisibilityTimeout);
        Assert.Equal(10, options.MaxMessagesPerReceive);
    }

    [Fact]
    public void Given_a_FIFO_queue_When_defaults_are_built_Then_lanes_follow_the_group_and_a_failure_stops_the_batch()
    {
        var fifo = SqsMappingDefaults.For(queueIsFifo: true, concurrency: 3);
        var standard = SqsMappingDefaults.For(queueIsFifo: false, concurrency: 3);

        Assert.True(fifo.Invoker.StopOnFirstFailure);
        Assert.Equal(LaneKeySource.PartitionKey, fifo.LaneKey);
        Assert.False(standard.Invoker.StopOnFirstFailure);
        Assert.Equal(LaneKeySource.JobKey, standard.LaneKey);
        Assert.Equal(30, standard.MaxRecordsPerPoll);
        Assert.Throws<ArgumentOutOfRangeException>(() => SqsMappingDefaults.For(queueIsFifo: true, batchSize: 11));
    }

    [Fact]
    public void Given_a_redrive_policy_with_a_string_count_When_parsed_Then_it_reads_and_a_broken_one_names_the_queue()
    {
        Assert.Equal(new SqsRedrivePolicy("arn:aws:sqs:us-east-1:000000000000:dlq", 5),
            SqsQueues.ParseRedrivePolicy("""{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"5"}""", "q"));
        FormatException error = Assert.Throws<FormatException>(() => SqsQueues.ParseRedrivePolicy("""{"maxReceiveCount":5}""", "my-queue"));
        Assert.Contains("my-queue", error.Message, StringComparison.Ordinal);
    }
}
