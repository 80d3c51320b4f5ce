using System.Text.Json;
using Pipeline.Aws.Mappings;
using Pipeline.Aws.Provisioning;

namespace Pipeline.Aws.Tests.Provisioning;

public sealed class ResourceListTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(60)]
    [InlineData(900)]
    public void Given_a_function_timeout_When_listed_Then_the_jobs_queue_waits_six_times_it_and_redrives_after_5_receives(int timeout)
    {
        ResourceList list = ResourceList.For("t1-", timeout);

        Assert.Equal(6 * timeout, list.JobsQueue.VisibilityTimeoutSeconds);
        Assert.Equal(5, list.JobsQueue.MaxReceiveCount);
        Assert.Same(list.JobsDeadLetterQueue, list.JobsQueue.DeadLetterQueue);
        using JsonDocument redrive = JsonDocument.Parse(list.JobsQueue.Attributes("arn:aws:sqs:us-east-1:1:t1-jobs-dlq")["RedrivePolicy"]);
        Assert.Equal("arn:aws:sqs:us-east-1:1:t1-jobs-dlq", redrive.RootElement.GetProperty("deadLetterTargetArn").GetString());
        Assert.Equal(5, redrive.RootElement.GetProperty("maxReceiveCount").GetInt32());
    }

    [Fact]
    public void Given_a_prefix_When_listed_Then_queues_and_table_carry_it_but_buckets_keep_their_names()
    {
        ResourceList list = ResourceList.For("t1-", buckets: ["in-bucket", "out-bucket", "in-bucket"]);

        Assert.Equal(["t1-jobs-dlq", "t1-jobs", "t1-idempotency", "in-bucket", "out-bucket"], list.All.Select(r => r.Name));
        Assert.Equal(["JobsDeadLetterQueue", "JobsQueue", "IdempotencyTable"], list.All.Take(3).Select(r => r.LogicalId));
        Assert.Equal(("id", "S", "expiration"), (list.IdempotencyTable.PartitionKey, list.IdempotencyTable.PartitionKeyType, list.IdempotencyTable.TimeToLiveAttribute));
        Assert.Equal("1209600", list.JobsDeadLetterQueue.Attributes(null)["MessageRetentionPeriod"]);
        Assert.False(list.JobsDeadLetterQueue.Attributes(null).ContainsKey("RedrivePolicy"));
    }

    [Fact]
    public void Given_a_fifo_jobs_queue_When_listed_Then_both_queues_are_fifo()
    {
        ResourceList list = ResourceList.For("p-", jobsQueue: "jobs.fifo");

        Assert.Equal("p-jobs.fifo", list.JobsQueue.Name);
        Assert.Equal("p-jobs-dlq.fifo", list.JobsDeadLetterQueue.Name);
        Assert.Equal("true", list.JobsDeadLetterQueue.Attributes(null)["FifoQueue"]);
        Assert.False(list.JobsQueue.Attributes("arn:x", includeCreateOnly: false).ContainsKey("FifoQueue"));
    }

    [Theory]
    [InlineData("bad prefix ", 60, "prefix", "may hold only letters, digits")]
    [InlineData("", 0, "functionTimeoutSeconds", "between 1 and 900")]
    [InlineData("", 901, "functionTimeoutSeconds", "between 1 and 900")]
    public void Given_a_bad_prefix_or_timeout_When_listed_Then_the_error_names_it(string prefix, int timeout, string parameter, string message)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => ResourceList.For(prefix, timeout));

        Assert.Equal(parameter, ex.ParamName);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_pipeline_When_listed_Then_its_timeout_queue_table_and_buckets_are_used()
    {
        PipelineDefinition pipeline = PipelineDefinitionLoader.Parse(
            "Function:\n  Timeout: 120\n  Buckets: [photos]\n  IdempotencyTable: dedup\nEvents:\n  A: { Type: SQS, Properties: { Queue: work } }", "p.yaml");

        ResourceList list = ResourceList.For(pipeline, "x-", ["extra"]);

        Assert.Equal(720, list.JobsQueue.VisibilityTimeoutSeconds);
        Assert.Equal("x-work", list.JobsQueue.Name);
        Assert.Equal("x-work-dlq", list.JobsDeadLetterQueue.Name);
        Assert.Equal("x-dedup", list.IdempotencyTable.Name);
        Assert.Equal(["photos", "extra"], list.Buckets.Select(b => b.Name));
    }

    [Fact]
    public void Given_a_pipeline_whose_events_name_two_queues_When_listed_Then_the_second_is_named_in_the_error()
    {
        PipelineDefinition pipeline = PipelineDefinitionLoader.Parse(
            "Events:\n  A: { Type: SQS, Properties: { Queue: one } }\n  B: { Type: SQS, Properties: { Queue: two } }", "p.yaml");

        var ex = Assert.Throws<MappingDefinitionException>(() => ResourceList.For(pipeline));

        Assert.Equal("Events.B.Properties.Queue", Assert.Single(ex.Errors).Path);
    }
}
