using Pipeline.Aws.Mappings;
using Pipeline.Testing;
using Pipeline.Aws.Provisioning;

namespace Pipeline.Aws.Tests.Provisioning;

public sealed class ResourceListStreamTests
{
    [Fact]
    public void Given_no_shard_count_When_listed_Then_there_are_no_kinesis_resources()
    {
        ResourceList list = ResourceList.For("t1-");

        Assert.Null(list.JobsStream);
        Assert.Null(list.StreamFailuresQueue);
        Assert.Null(list.LeaseTable);
        Assert.DoesNotContain("kinesis", InitScript.Render(list), StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_shard_count_When_listed_Then_the_stream_failures_queue_and_lease_table_follow_the_buckets()
    {
        ResourceList list = ResourceList.For("t1-", buckets: ["b-one"], streamShards: 3);

        Assert.Equal(("JobsStream", "t1-jobs-stream", 3), (list.JobsStream!.LogicalId, list.JobsStream.Name, list.JobsStream.ShardCount));
        QueueResource failures = list.StreamFailuresQueue!;
        Assert.Equal(("JobsStreamFailuresQueue", "t1-jobs-stream-failures"), (failures.LogicalId, failures.Name));
        Assert.Equal(14 * 24 * 3600, failures.MessageRetentionPeriodSeconds);
        Assert.Equal("true", failures.Attributes(null)["SqsManagedSseEnabled"]);
        Assert.Null(failures.DeadLetterQueue);
        Assert.Equal(("KinesisLeaseTable", "t1-kinesis-leases", "leaseKey", "PAY_PER_REQUEST"), (list.LeaseTable!.LogicalId, list.LeaseTable.Name, list.LeaseTable.PartitionKey, list.LeaseTable.BillingMode));
        Assert.Equal(["t1-jobs-dlq", "t1-jobs", "t1-idempotency", "b-one", "t1-jobs-stream", "t1-jobs-stream-failures", "t1-kinesis-leases"], list.All.Select(r => r.Name));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1001)]
    public void Given_a_shard_count_out_of_range_When_listed_Then_the_error_names_the_value(int shards)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ResourceList.For(streamShards: shards));

        Assert.Equal("shards", ex.ParamName);
        Assert.Contains($"(got {shards})", ex.Message, StringComparison.Ordinal);
        Assert.Contains("between 1 and 1000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_bad_stream_name_When_listed_Then_the_error_names_it()
    {
        var ex = Assert.Throws<ArgumentException>(() => ResourceList.For().WithStream(2, "jobs stream!"));

        Assert.Contains("'jobs stream!'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("stream", ex.ParamName);
    }

    [Fact]
    public void Given_a_stream_When_rendered_Then_the_script_guards_create_stream_and_adds_the_queue_and_lease_table()
    {
        string script = InitScript.Render(ResourceList.For("t1-", streamShards: 2));

        Assert.Contains("if ! awslocal kinesis describe-stream-summary --stream-name t1-jobs-stream >/dev/null 2>&1; then", script, StringComparison.Ordinal);
        Assert.Contains("awslocal kinesis create-stream --stream-name t1-jobs-stream --shard-count 2", script, StringComparison.Ordinal);
        Assert.Contains("awslocal sqs create-queue --queue-name t1-jobs-stream-failures", script, StringComparison.Ordinal);
        Assert.Contains("\"MessageRetentionPeriod\":\"1209600\"", script, StringComparison.Ordinal);
        Assert.Contains("create-table --table-name t1-kinesis-leases", script, StringComparison.Ordinal);
        Assert.Contains("AttributeName=leaseKey,AttributeType=S", script, StringComparison.Ordinal);
        Assert.Contains("#   bgpipe provision --shards 2 --print-init-script > ", script, StringComparison.Ordinal);
        Assert.StartsWith(
            InitScript.Render(ResourceList.For("t1-")).Replace("\necho \"bgpipe: resources ready\"\n", string.Empty, StringComparison.Ordinal),
            script.Replace(" --shards 2 --print-init-script", " --print-init-script", StringComparison.Ordinal),
            StringComparison.Ordinal);
    }

    [Fact]
    public void Given_the_kinesis_pipeline_When_listed_Then_its_stream_and_failure_queue_get_the_prefix_and_the_shard_count()
    {
        PipelineDefinition pipeline = PipelineDefinitionLoader.LoadFile(RepositoryRoot.Combine("pipelines", "kinesis-stream.yaml"));

        ResourceList list = ResourceList.For(pipeline, "t1-", streamShards: 4);

        Assert.Equal(("t1-jobs-stream", 4), (list.JobsStream!.Name, list.JobsStream.ShardCount));
        Assert.Equal("t1-jobs-stream-failures", list.StreamFailuresQueue!.Name);
        Assert.Equal("t1-kinesis-leases", list.LeaseTable!.Name);
        Assert.Equal(1, ResourceList.For(pipeline).JobsStream!.ShardCount);
    }

    [Fact]
    public void Given_a_pipeline_without_kinesis_When_a_shard_count_is_given_Then_the_error_says_there_is_no_stream()
    {
        PipelineDefinition pipeline = PipelineDefinitionLoader.LoadFile(RepositoryRoot.Combine("pipelines", "sqs-backlog.yaml"));

        Assert.Null(ResourceList.For(pipeline).JobsStream);
        var ex = Assert.Throws<ArgumentException>(() => ResourceList.For(pipeline, streamShards: 2));
        Assert.Contains("shard count (2)", ex.Message, StringComparison.Ordinal);
    }
}
