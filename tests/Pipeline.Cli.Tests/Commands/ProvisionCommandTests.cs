using Amazon.SQS.Model;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Commands;

/// <summary>bgpipe provision as a process against moto_server.</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class ProvisionCommandTests(MotoFixture moto)
{
    private string Url => moto.Process.Endpoint.ToString();

    private static string Prefix() => $"t1{Guid.NewGuid():N}"[..12] + "-";

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_empty_endpoint_When_provisioned_twice_Then_the_first_run_creates_and_the_second_finds_everything_unchanged()
    {
        string prefix = Prefix();

        Bgpipe.Result first = await Bgpipe.RunAsync("provision", "--endpoint-url", Url, "--prefix", prefix);
        Bgpipe.Result second = await Bgpipe.RunAsync("provision", "--endpoint-url", Url, "--prefix", prefix);

        Assert.True(first.ExitCode == 0, first.StdErr);
        Assert.Contains($"created      SQS queue      {prefix}jobs-dlq", first.StdOut, StringComparison.Ordinal);
        Assert.Contains($"created      SQS queue      {prefix}jobs:", first.StdOut, StringComparison.Ordinal);
        Assert.Contains($"created      DynamoDB table {prefix}idempotency", first.StdOut, StringComparison.Ordinal);
        Assert.Contains("3 created, 0 updated, 0 unchanged", first.StdOut, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.StdErr);
        Assert.Contains("0 created, 0 updated, 3 unchanged", second.StdOut, StringComparison.Ordinal);
        Assert.Empty(second.StdErr);
        using var sqs = moto.Endpoint.CreateSqs();
        Assert.Equal(2, ((await sqs.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = prefix })).QueueUrls ?? []).Count);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_empty_endpoint_When_dry_run_Then_it_lists_what_would_be_created_and_creates_nothing()
    {
        string prefix = Prefix();

        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", Url, "--prefix", prefix, "--dry-run", "--bucket", $"b-{Guid.NewGuid():N}");

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"would create SQS queue      {prefix}jobs:", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("VisibilityTimeout=360", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("4 to create, 0 to update, 0 unchanged; nothing was changed", r.StdOut, StringComparison.Ordinal);
        using var sqs = moto.Endpoint.CreateSqs();
        Assert.Empty((await sqs.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = prefix })).QueueUrls ?? []);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_the_repository_pipeline_When_provisioned_Then_its_buckets_and_timeout_are_used()
    {
        string prefix = Prefix();

        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", Url, "--prefix", prefix, "--pipeline", RepositoryRoot.Combine("pipelines", "sqs-backlog.yaml"), "--dry-run");

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("S3 bucket      bgpipe-input", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("VisibilityTimeout=360", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_no_server_at_the_endpoint_When_dry_run_Then_it_says_so_and_exits_1_without_a_stack_trace()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", $"http://127.0.0.1:{port}", "--dry-run");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"cannot reach http://127.0.0.1:{port}/", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("would create SQS queue      jobs", r.StdOut, StringComparison.Ordinal);
        Assert.False(r.HasStackTrace);
    }

    [Fact]
    public async Task Given_no_endpoint_When_provisioning_Then_usage_error_2()
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("provision");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--endpoint-url is required", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_misspelt_pipeline_property_When_provisioning_Then_exit_2_names_the_file_line_and_property()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("bgpipe-provision-").FullName, "bad.yaml");
        await File.WriteAllTextAsync(file, "Events:\n  JobsQueue:\n    Type: SQS\n    Properties:\n      Queue: jobs\n      BachSize: 10\n");

        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", "http://127.0.0.1:9", "--pipeline", file);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"bgpipe provision: {file}:6:7: Events.JobsQueue.Properties.BachSize: unknown property; did you mean BatchSize?", Assert.Single(r.ErrorLines));
    }

    [Fact]
    public async Task Given_print_init_script_with_one_shard_When_run_Then_it_prints_the_committed_script()
    {
        // The committed script is what template.yaml declares, the Kinesis stream (one shard) included.
        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--shards", "1", "--print-init-script");

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(await File.ReadAllTextAsync(RepositoryRoot.Combine("infra-sam", "localstack", "init-aws.sh")), r.StdOut);
    }

    [Theory]
    [InlineData("--function-timeout", "901", "between 1 and 900")]
    [InlineData("--prefix", "bad prefix", "may hold only letters")]
    [InlineData("--bucket", "Bad_Bucket", "not a valid S3 bucket name")]
    public async Task Given_a_bad_option_When_provisioning_Then_exit_2_with_one_line(string option, string value, string message)
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", "http://127.0.0.1:9", option, value);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, Assert.Single(r.ErrorLines), StringComparison.Ordinal);
        Assert.False(r.HasStackTrace);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_shards_2_When_provisioned_Then_the_stream_its_failures_queue_and_the_lease_table_are_created()
    {
        string prefix = Prefix();

        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", Url, "--prefix", prefix, "--shards", "2");

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"created      Kinesis stream {prefix}jobs-stream: 2 shards", r.StdOut, StringComparison.Ordinal);
        Assert.Contains($"created      SQS queue      {prefix}jobs-stream-failures", r.StdOut, StringComparison.Ordinal);
        Assert.Contains($"created      DynamoDB table {prefix}kinesis-leases", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("6 created, 0 updated, 0 unchanged", r.StdOut, StringComparison.Ordinal);
        using var kinesis = Pipeline.Aws.Kinesis.Client.AwsEndpointKinesisExtensions.CreateKinesis(moto.Endpoint);
        var summary = (await kinesis.DescribeStreamSummaryAsync(new Pipeline.Aws.Kinesis.Client.DescribeStreamSummaryRequest { StreamName = $"{prefix}jobs-stream" })).StreamDescriptionSummary;
        Assert.Equal(2, summary.OpenShardCount);
    }

    [Fact]
    public async Task Given_shards_out_of_range_When_provisioned_Then_it_is_a_usage_error_naming_the_value()
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("provision", "--endpoint-url", "http://127.0.0.1:9", "--shards", "0");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("between 1 and 1000 (got 0)", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
    }
}
