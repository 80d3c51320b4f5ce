using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing.Emulators;
using Xunit.Abstractions;

namespace Pipeline.Cli.Tests.Hosting;

/// <summary>
/// <c>bgpipe run</c> hosting a Kinesis event: moto_server for S3, SQS and DynamoDB, kinesalite for the stream.
/// </summary>
[Collection(KinesisCollection.Name)]
public sealed partial class RunKinesisTests(MotoFixture moto, KinesaliteFixture kinesalite, ITestOutputHelper log)
{
    private const int Jobs = 30;

    [Fact]
    public async Task Given_jobs_a_poison_image_and_a_non_JSON_record_on_two_shards_When_run_hosts_the_stream_Then_each_good_job_has_one_output_and_the_bad_ones_reach_the_on_failure_queue()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kh");
        Bgpipe.Result provision = await kit.ProvisionAsync(shards: 2);
        Assert.True(provision.ExitCode == 0, provision.StdErr);
        byte[][] pictures = [.. Enumerable.Range(1, 3).Select(seed => Images.ShapeOnTexture(96, 72, seed).Jpeg)];
        for (int i = 0; i < Jobs; i++)
        {
            await kit.Remote.PutAsync(kit.Remote.InBucket, $"in/{i:D3}.jpg", pictures[i % pictures.Length]);
        }

        await kit.Remote.PutAsync(kit.Remote.InBucket, "in/poison.jpg", [0xFF, 0xD8, 0xFF, 0x00, 0x01]);

        // Given 30 jobs spread by partition key, one poison image in the middle and one record that is not JSON,
        var records = new List<(string Key, byte[] Data)>();
        for (int i = 0; i < Jobs; i++)
        {
            records.Add(($"key-{i}", KinesisKit.Utf8(RemoteKit.Job($"s3://{kit.Remote.InBucket}/in/{i:D3}.jpg", $"s3://{kit.Remote.OutBucket}/out/{i:D3}.png"))));
            if (i == Jobs / 2)
            {
                records.Add(("poison", KinesisKit.Utf8(RemoteKit.Job($"s3://{kit.Remote.InBucket}/in/poison.jpg", $"s3://{kit.Remote.OutBucket}/out/poison.png"))));
                records.Add(("garbage", KinesisKit.Utf8("this is not a job {")));
            }
        }

        List<PutRecordsResultEntry> put = await kit.PutAsync(records);
        Assert.Equal(2, put.Select(p => p.ShardId).Distinct().Count());
        PutRecordsResultEntry poisonAt = put[records.FindIndex(r => r.Key == "poison")];
        PutRecordsResultEntry garbageAt = put[records.FindIndex(r => r.Key == "garbage")];
        string pipeline = kit.PipelineFile(KinesisKit.OnFailureSqs);
        string callLog = Path.Combine(kit.Remote.Folder, "calls.log");

        // When bgpipe run hosts the stream until every job is done, then gets SIGTERM,
        using Process host = Bgpipe.StartCapturing(out Func<string> output, kit.RunArgs(pipeline, callLog, "worker-a"));
        List<JsonElement> failures;
        try
        {
            await RemoteKit.UntilAsync(async () => (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Count >= Jobs, $"{Jobs} outputs", 180);
            failures = await kit.DrainFailuresAsync(expected: 2);
        }
        finally
        {
            Bgpipe.Terminate(host);
            await host.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Then every good job has exactly one output and one function call,
        var outputs = (await kit.Remote.ListAsync(kit.Remote.OutBucket, "out/")).Select(o => o.Key).ToHashSet();
        Assert.Equal(Enumerable.Range(0, Jobs).Select(i => $"out/{i:D3}.png").ToHashSet(), outputs);
        var goodCalls = File.ReadAllLines(callLog).Select(l => l.Split('\t')[1]).Where(s => !s.EndsWith("poison.jpg", StringComparison.Ordinal)).ToList();
        Assert.Equal(Jobs, goodCalls.Count);
        Assert.Equal(Jobs, goodCalls.Distinct(StringComparer.Ordinal).Count());

        // and each bad record is on the on-failure queue as the ESM's invocation record of its own one-record batch,
        Assert.Equal(2, failures.Count);
        foreach (PutRecordsResultEntry bad in new[] { poisonAt, garbageAt })
        {
            JsonElement record = Assert.Single(failures, f => f.GetProperty("KinesisBatchInfo").GetProperty("startSequenceNumber").GetString() == bad.SequenceNumber);
            JsonElement info = record.GetProperty("KinesisBatchInfo");
            Assert.Equal(bad.ShardId, info.GetProperty("shardId").GetString());
            Assert.Equal(bad.SequenceNumber, info.GetProperty("endSequenceNumber").GetString());
            Assert.Equal(1, info.GetProperty("batchSize").GetInt32());
            Assert.EndsWith(":stream/" + kit.Stream, info.GetProperty("streamArn").GetString(), StringComparison.Ordinal);
            Assert.Equal("RetryAttemptsExhausted", record.GetProperty("requestContext").GetProperty("condition").GetString());
            Assert.True(record.GetProperty("requestContext").GetProperty("approximateInvokeCount").GetInt32() >= 2, "one retry after the first failure");
            Assert.Equal("1.0", record.GetProperty("version").GetString());
        }

        // and the host stops cleanly: exit 0, leases released at each shard's last sequence number, a stop summary.
        string text = output();
        Assert.True(host.ExitCode == 0, text);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Match summary = StopSummary().Match(text);
        Assert.True(summary.Success, text);
        Assert.Equal(records.Count, int.Parse(summary.Groups["polled"].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, int.Parse(summary.Groups["onFailure"].Value, System.Globalization.CultureInfo.InvariantCulture));
        IReadOnlyList<Lease> leases = await kit.LeasesAsync();
        Assert.Equal(2, leases.Count);
        foreach (Lease lease in leases)
        {
            string last = put.Where(p => p.ShardId == lease.LeaseKey).MaxBy(p => KinesisKit.Sequence(p.SequenceNumber!))!.SequenceNumber!;
            Assert.Null(lease.Owner);
            Assert.Equal(last, lease.Checkpoint);
        }
    }

    [Fact]
    public async Task Given_no_provisioned_lease_table_When_run_starts_Then_it_exits_2_naming_the_table_and_provision()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kn");
        string pipeline = kit.PipelineFile();

        Bgpipe.Result result = await Bgpipe.RunAsync(kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log")));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"the lease table {kit.Remote.Prefix}kinesis-leases does not exist", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("bgpipe provision --shards", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_a_stream_that_does_not_exist_When_run_starts_Then_it_exits_2_naming_the_stream_and_provision()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "km");
        Assert.Equal(0, (await kit.ProvisionAsync(shards: 1)).ExitCode);
        string pipeline = kit.PipelineFile(stream: "no-such-stream");

        Bgpipe.Result result = await Bgpipe.RunAsync(kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log")));

        log.WriteLine($"exit {result.ExitCode}: {result.StdErr}");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"the Kinesis stream {kit.Remote.Prefix}no-such-stream does not exist", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("bgpipe provision --shards", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdOut + result.StdErr);
    }

    [Fact]
    public async Task Given_an_SNS_on_failure_destination_When_run_starts_Then_it_exits_2_saying_only_SQS_is_supported()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "ks");
        Assert.Equal(0, (await kit.ProvisionAsync(shards: 1)).ExitCode);
        string pipeline = kit.PipelineFile("""
                  DestinationConfig:
                    OnFailure:
                      Type: SNS
                      Destination: arn:aws:sns:us-east-1:000000000000:failures

            """);

        Bgpipe.Result result = await Bgpipe.RunAsync(kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log")));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("OnFailure", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("SNS", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("SQS", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_an_on_failure_queue_that_does_not_exist_When_run_starts_Then_it_fails_at_start_naming_the_queue()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kq");
        Assert.Equal(0, (await kit.ProvisionAsync(shards: 1)).ExitCode);
        string pipeline = kit.PipelineFile("""
                  DestinationConfig:
                    OnFailure:
                      Type: SQS
                      Destination: no-such-queue

            """);

        Bgpipe.Result result = await Bgpipe.RunAsync(kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log")));

        log.WriteLine($"exit {result.ExitCode}: {result.StdErr}");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(kit.Remote.Prefix + "no-such-queue", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdOut + result.StdErr);
        Assert.Empty(await kit.LeasesAsync());
    }

    [Fact]
    public async Task Given_a_Kinesis_endpoint_that_does_not_answer_When_run_starts_Then_it_exits_1_naming_that_endpoint()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "ku");
        Assert.Equal(0, (await kit.ProvisionAsync(shards: 1)).ExitCode);
        string pipeline = kit.PipelineFile();
        string[] args = kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log"));
        args[Array.IndexOf(args, "--kinesis-endpoint-url") + 1] = "http://127.0.0.1:9/";

        Bgpipe.Result result = await Bgpipe.RunAsync(args);

        log.WriteLine($"exit {result.ExitCode}: {result.StdErr}");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("bgpipe run: http://127.0.0.1:9/: Kinesis is not reachable", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdOut + result.StdErr);
    }

    [Theory]
    [InlineData("0.1", "--lease-duration must be between 0.2 and 3600 seconds (got 0.1)")]
    [InlineData("3601", "--lease-duration must be between 0.2 and 3600 seconds (got 3601)")]
    [InlineData("soon", "'soon'")]
    public async Task Given_a_bad_lease_duration_When_run_starts_Then_it_exits_2_naming_the_option(string value, string message)
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kb");
        string pipeline = kit.PipelineFile();

        Bgpipe.Result result = await Bgpipe.RunAsync(kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log"), leaseDuration: value));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        Assert.Contains("--lease-duration", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("")]
    public async Task Given_a_blank_worker_id_When_run_starts_Then_it_exits_2_naming_the_option(string value)
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kb");
        string pipeline = kit.PipelineFile();
        string option = "--worker-id";
        string message = "--worker-id must be 1 to 256 characters";

        Bgpipe.Result result = await Bgpipe.RunAsync(kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log"), workerId: value));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        Assert.Contains(option, result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_a_worker_id_over_256_characters_When_run_starts_Then_it_exits_2()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "kw");
        string pipeline = kit.PipelineFile();

        Bgpipe.Result result = await Bgpipe.RunAsync([.. kit.RunArgs(pipeline, Path.Combine(kit.Remote.Folder, "calls.log")), "--worker-id", new string('w', 257)]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--worker-id must be 1 to 256 characters", result.StdErr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"JobsStream stopped: polled (?<polled>\d+), invoked \d+, succeeded \d+, skipped \d+, failed \d+, filtered out \d+, dropped \d+, sent to on-failure (?<onFailure>\d+)")]
    private static partial Regex StopSummary();
}
