using System.Diagnostics;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Hosting;

/// <summary><c>bgpipe run pipelines/x.yaml --endpoint-url</c> on moto_server.</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class RunCommandTests(MotoFixture moto)
{
    [Fact]
    public async Task Given_bad_jobs_When_run_hosts_the_queue_Then_each_reaches_the_DLQ_after_5_receives_with_its_reason_logged()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rr");
        Assert.Equal(0, (await kit.ProvisionAsync(2)).ExitCode);
        await kit.PutAsync(kit.InBucket, "bad.jpg", "plain text"u8.ToArray());
        await kit.SendAsync([
            "this is not json",
            "{\"destination\":\"s3://x/y.png\"}",
            RemoteKit.Job("s3://someone-elses-bucket/a.jpg"),
            RemoteKit.Job($"s3://{kit.InBucket}/bad.jpg", $"s3://{kit.OutBucket}/bad.png"),
            RemoteKit.Job($"s3://{kit.InBucket}/missing.jpg", $"s3://{kit.OutBucket}/missing.png"),
        ]);

        using Process host = Bgpipe.StartCapturing(out Func<string> stderr, "run", kit.PipelineFile(2), "--endpoint-url", kit.Url, "--prefix", kit.Prefix,
            "--wait-time-seconds", "1", "--claim-lease", "3", "--heartbeat", "1", "--metrics", "console", "--metrics-interval", "1");
        try
        {
            try
            {
                await RemoteKit.UntilAsync(async () => (await kit.CountAsync(kit.Prefix + "jobs-dlq")).Visible == 5, "5 messages in the DLQ", 90);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; DLQ {await kit.CountAsync(kit.Prefix + "jobs-dlq")}, jobs {await kit.CountAsync(kit.Prefix + "jobs")}; host output:\n{stderr()}", ex);
            }

            Assert.Equal((0, 0), await kit.CountAsync(kit.Prefix + "jobs"));
        }
        finally
        {
            Bgpipe.Terminate(host);
            await host.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.Equal(0, host.ExitCode);
        string log = stderr();
        Assert.Contains("not valid JSON", log, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("source", log, StringComparison.Ordinal);
        Assert.Contains("someone-elses-bucket", log, StringComparison.Ordinal);
        Assert.Contains("allow-list", log, StringComparison.Ordinal);
        Assert.Contains($"s3://{kit.InBucket}/bad.jpg", log, StringComparison.Ordinal);
        Assert.Contains($"s3://{kit.InBucket}/missing.jpg' does not exist", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);

        // The ESM's metric names come out through OpenTelemetry's console exporter.
        Assert.Contains("PolledEventCount", log, StringComparison.Ordinal);
        Assert.Contains("FailedInvokeEventCount", log, StringComparison.Ordinal);
        Assert.Contains("polled 25,", log, StringComparison.Ordinal); // 5 jobs x 5 receives, then the DLQ
    }

    [Fact]
    public async Task Given_a_running_host_When_SIGTERM_arrives_Then_in_flight_work_finishes_and_no_message_stays_invisible()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rs");
        Assert.Equal(0, (await kit.ProvisionAsync(60)).ExitCode); // visibility 360 s: anything left invisible would show
        byte[] jpeg = Images.ShapeOnTexture(seed: 7).Jpeg;
        for (int i = 0; i < 30; i++)
        {
            await kit.PutAsync(kit.InBucket, $"in/{i:D2}.jpg", jpeg);
        }

        await kit.SendAsync(Enumerable.Range(0, 30).Select(i => RemoteKit.Job($"s3://{kit.InBucket}/in/{i:D2}.jpg", $"s3://{kit.OutBucket}/out/{i:D2}.png")));
        using Process host = Bgpipe.StartCapturing(out Func<string> stderr, "run", kit.PipelineFile(60), "--endpoint-url", kit.Url, "--prefix", kit.Prefix,
            "--wait-time-seconds", "1");
        await RemoteKit.UntilAsync(async () => (await kit.ListAsync(kit.OutBucket, "out/")).Count >= 3, "3 outputs", 120);

        Bgpipe.Terminate(host);
        await host.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(0, host.ExitCode);
        (long visible, long inFlight) = await kit.CountAsync(kit.Prefix + "jobs");
        int written = (await kit.ListAsync(kit.OutBucket, "out/")).Count;
        Assert.Equal(0, inFlight);
        Assert.Equal(30, written + visible); // every job is either done or back on the queue, none lost or hidden
        Assert.True(visible > 0, "the stop came before the end of the backlog");
        Assert.DoesNotContain("   at ", stderr(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_pipeline_file_with_a_misspelt_property_When_run_starts_Then_it_exits_2_naming_the_property()
    {
        string file = Path.Combine(Path.GetTempPath(), $"bgpipe-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "Events:\n  Q:\n    Type: SQS\n    Properties:\n      Queue: jobs\n      BachSize: 10\n");
        try
        {
            Bgpipe.Result run = await Bgpipe.RunAsync("run", file, "--endpoint-url", moto.Endpoint.ServiceUrl!.ToString());
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("BachSize", run.StdErr, StringComparison.Ordinal);
            Assert.Contains("BatchSize", run.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
