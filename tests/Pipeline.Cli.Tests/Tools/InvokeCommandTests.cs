using System.Text.Json;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Tools;

/// <summary><c>bgpipe invoke</c>: the Lambda handlers in process on one event file, as <c>sam local invoke -e</c>.</summary>
[Collection(ToolsCollection.Name)]
public sealed class InvokeCommandTests(MotoFixture moto)
{
    private static string Event(string name) => RepositoryRoot.Combine("events", name);

    private static string[] Failures(string stdout)
    {
        using JsonDocument doc = JsonDocument.Parse(stdout);
        return [.. doc.RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()!).Order(StringComparer.Ordinal)];
    }

    private static async Task<RemoteKit> ReadyAsync(MotoFixture moto, string tag)
    {
        var kit = new RemoteKit(moto.Endpoint, tag);
        Bgpipe.Result provision = await Bgpipe.RunAsync("provision", "--endpoint-url", kit.Url, "--prefix", kit.Prefix, "--bucket", ToolsKit.InBucket, "--bucket", ToolsKit.OutBucket);
        Assert.True(provision.ExitCode == 0, provision.StdErr);
        await ToolsKit.UploadSourcesAsync(kit);
        return kit;
    }

    private static string[] Args(RemoteKit kit, string file) =>
        ["invoke", Event(file), "--endpoint-url", kit.Url, "--table", kit.Prefix + "idempotency", "--bucket", ToolsKit.InBucket, "--bucket", ToolsKit.OutBucket];

    [Fact]
    public async Task Given_the_mixed_SQS_event_When_invoked_Then_it_prints_the_two_failed_message_ids_and_exits_0()
    {
        using RemoteKit kit = await ReadyAsync(moto, "ia");

        Bgpipe.Result result = await Bgpipe.RunAsync(Args(kit, "sqs-mixed-batch.json"));

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(["3b4c5d6e-7f8a-4b9c-0d1e-2f3a4b5c6d7e", "5d6e7f8a-9b0c-4d1e-2f3a-4b5c6d7e8f9a"], Failures(result.StdOut));
        var outputs = (await kit.ListAsync(ToolsKit.OutBucket, string.Empty)).Select(o => o.Key).ToList();
        Assert.Contains("cutouts/cat.png", outputs);
        Assert.Contains("masks/bird.png", outputs);
    }

    [Fact]
    public async Task Given_the_Kinesis_mixed_event_and_a_pipeline_file_When_invoked_Then_the_corrupt_record_and_the_one_after_it_fail()
    {
        using RemoteKit kit = await ReadyAsync(moto, "ib");

        Bgpipe.Result result = await Bgpipe.RunAsync("invoke", Event("kinesis-mixed-batch.json"), "--endpoint-url", kit.Url,
            "--pipeline", RepositoryRoot.Combine("pipelines", "sqs-backlog.yaml"), "--table", kit.Prefix + "idempotency");

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(
            ["49590737448564745613892097637509788671000000032000", "49590737448564745613892097637509788671000000033000"],
            Failures(result.StdOut));
    }

    [Fact]
    public async Task Given_the_duplicate_job_event_When_invoked_twice_Then_both_answers_are_empty_and_the_output_is_written_once()
    {
        using RemoteKit kit = await ReadyAsync(moto, "ic");
        foreach (Amazon.S3.Model.S3ObjectVersion old in (await kit.S3.ListVersionsAsync(ToolsKit.OutBucket, "cutouts/dog.png")).Versions ?? [])
        {
            await kit.S3.DeleteObjectAsync(new Amazon.S3.Model.DeleteObjectRequest { BucketName = ToolsKit.OutBucket, Key = old.Key, VersionId = old.VersionId });
        }

        await kit.S3.PutBucketVersioningAsync(new Amazon.S3.Model.PutBucketVersioningRequest
        {
            BucketName = ToolsKit.OutBucket,
            VersioningConfig = new Amazon.S3.Model.S3BucketVersioningConfig { Status = Amazon.S3.VersionStatus.Enabled },
        });

        Bgpipe.Result first = await Bgpipe.RunAsync(Args(kit, "sqs-duplicate-job.json"));
        Bgpipe.Result second = await Bgpipe.RunAsync(Args(kit, "sqs-duplicate-job.json"));

        Assert.True(first.ExitCode == 0, first.StdErr);
        Assert.Equal("{\"batchItemFailures\":[]}", first.StdOut.Trim());
        Assert.Equal("{\"batchItemFailures\":[]}", second.StdOut.Trim());
        Assert.Equal(1, await VersionsAsync(kit, "cutouts/dog.png"));

        // Four deliveries of one job: one idempotency record, completed.
        Assert.Equal("COMPLETED", Assert.Single(await kit.StatusesAsync()).Value);
    }

    private static async Task<int> VersionsAsync(RemoteKit kit, string key) =>
        ((await kit.S3.ListVersionsAsync(ToolsKit.OutBucket, key)).Versions ?? []).Count(v => v.Key == key && v.IsDeleteMarker != true);

    [Fact]
    public async Task Given_a_file_that_does_not_exist_When_invoked_Then_it_exits_2_naming_it()
    {
        Bgpipe.Result result = await Bgpipe.RunAsync("invoke", "no-such-event.json", "--table", "t", "--bucket", "b");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bgpipe invoke: no-such-event.json: no such file", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_an_SNS_event_When_invoked_Then_it_exits_2_naming_its_eventSource()
    {
        string file = Path.Combine(Path.GetTempPath(), $"bgpipe-invoke-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{\"Records\":[{\"EventSource\":\"x\",\"eventSource\":\"aws:sns\"}]}");
        try
        {
            Bgpipe.Result result = await Bgpipe.RunAsync("invoke", file, "--table", "t", "--bucket", "b");

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("eventSource 'aws:sns'", result.StdErr, StringComparison.Ordinal);
            Assert.False(result.HasStackTrace, result.StdErr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Given_no_idempotency_table_configured_When_invoked_Then_it_exits_2_naming_the_variable_and_the_flag()
    {
        Bgpipe.Result result = await Bgpipe.RunAsync("invoke", Event("sqs-normal-batch.json"), "--bucket", "b");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("BGPIPE_IDEMPOTENCY_TABLE is not set", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("--table", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_a_bucket_that_is_no_bucket_name_When_invoked_Then_it_exits_2_naming_it()
    {
        Bgpipe.Result result = await Bgpipe.RunAsync("invoke", Event("sqs-normal-batch.json"), "--table", "t", "--bucket", "Not_A_Bucket");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'Not_A_Bucket'", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }
}
