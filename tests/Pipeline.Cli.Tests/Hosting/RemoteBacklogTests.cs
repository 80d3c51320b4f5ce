using System.Text.Json;
using Amazon.S3.Model;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Hosting;

/// <summary><c>bgpipe backlog ... --endpoint-url</c> end to end on moto_server: SQS, DynamoDB and S3 with the real model.</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class RemoteBacklogTests(MotoFixture moto)
{
    [Fact]
    public async Task Given_images_and_poison_files_under_an_s3_prefix_When_the_backlog_runs_Then_cutouts_are_written_once_and_poison_is_reported_with_reasons()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rb");
        Assert.Equal(0, (await kit.ProvisionAsync(5)).ExitCode);
        for (int i = 0; i < 3; i++)
        {
            await kit.PutAsync(kit.InBucket, $"photos/p{i}.jpg", Images.ShapeOnTexture(seed: i + 1).Jpeg);
        }

        byte[] good = Images.ShapeOnTexture(seed: 9).Jpeg;
        await kit.PutAsync(kit.InBucket, "photos/truncated.jpg", good[..(good.Length / 3)]);
        await kit.PutAsync(kit.InBucket, "photos/random.png", [.. Enumerable.Range(0, 500).Select(i => (byte)(i * 37))]);
        await kit.PutAsync(kit.InBucket, "photos/empty.jpg", []);
        await kit.PutAsync(kit.InBucket, "photos/notes.txt", "not an image"u8.ToArray());
        string json = Path.Combine(kit.Folder, "summary.json");

        Bgpipe.Result first = await Bgpipe.RunAsync("backlog", $"s3://{kit.InBucket}/photos", "--out", $"s3://{kit.OutBucket}/cutouts",
            "--endpoint-url", kit.Url, "--prefix", kit.Prefix, "--json", json);

        Assert.False(first.HasStackTrace, first.StdErr);
        Assert.Equal(3, first.ExitCode); // some jobs dead-lettered
        var outputs = (await kit.ListAsync(kit.OutBucket, "cutouts/")).Select(o => o.Key).Order().ToList();
        Assert.Equal(["cutouts/dead-letters.jsonl", "cutouts/p0.png", "cutouts/p1.png", "cutouts/p2.png"], outputs);
        GetObjectMetadataResponse head = await kit.S3.GetObjectMetadataAsync(kit.OutBucket, "cutouts/p0.png");
        Assert.Equal("image/png", head.Headers.ContentType);

        using JsonDocument summary = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal(3, summary.RootElement.GetProperty("done").GetInt32());
        Assert.Equal(3, summary.RootElement.GetProperty("deadLettered").GetInt32());
        Assert.Equal(1, summary.RootElement.GetProperty("ignored").GetInt32());
        var dead = summary.RootElement.GetProperty("deadLetters").EnumerateArray()
            .ToDictionary(d => d.GetProperty("source").GetString()!, d => d.GetProperty("reason").GetString()!);
        Assert.Equal(
            [$"s3://{kit.InBucket}/photos/empty.jpg", $"s3://{kit.InBucket}/photos/random.png", $"s3://{kit.InBucket}/photos/truncated.jpg"],
            dead.Keys.Order());
        Assert.All(dead, d => Assert.Contains(d.Key, d.Value, StringComparison.Ordinal));
        (long visible, long inFlight) = await kit.CountAsync(kit.Prefix + "jobs-dlq");
        Assert.Equal(3, visible + inFlight);

        // When it runs again, Then nothing is redone and the dead letters are still reported.
        Bgpipe.Result second = await Bgpipe.RunAsync("backlog", $"s3://{kit.InBucket}/photos", "--out", $"s3://{kit.OutBucket}/cutouts",
            "--endpoint-url", kit.Url, "--prefix", kit.Prefix, "--json", json);
        Assert.Equal(3, second.ExitCode);
        using JsonDocument again = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal(0, again.RootElement.GetProperty("done").GetInt32());
        Assert.Equal(3, again.RootElement.GetProperty("skipped").GetInt32());
        Assert.Equal(3, again.RootElement.GetProperty("deadLettered").GetInt32());
        GetObjectMetadataResponse unchanged = await kit.S3.GetObjectMetadataAsync(kit.OutBucket, "cutouts/p0.png");
        Assert.Equal(head.ETag, unchanged.ETag);
    }

    [Fact]
    public async Task Given_a_local_folder_When_the_backlog_runs_through_the_endpoint_Then_outputs_land_in_the_output_folder()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rf");
        string input = Directory.CreateDirectory(Path.Combine(kit.Folder, "in", "sub")).Parent!.FullName;
        await File.WriteAllBytesAsync(Path.Combine(input, "a.jpg"), Images.ShapeOnTexture(seed: 3).Jpeg);
        await File.WriteAllBytesAsync(Path.Combine(input, "sub", "b.jpg"), Images.ShapeOnTexture(seed: 4).Jpeg);
        string output = Path.Combine(kit.Folder, "out");

        Bgpipe.Result run = await Bgpipe.RunAsync("backlog", input, "--out", output, "--endpoint-url", kit.Url, "--prefix", kit.Prefix);

        Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
        Assert.True(File.Exists(Path.Combine(output, "a.png")));
        Assert.True(File.Exists(Path.Combine(output, "sub", "b.png")));
        Assert.Equal(string.Empty, await File.ReadAllTextAsync(Path.Combine(output, "dead-letters.jsonl")));
    }

    [Fact]
    public async Task Given_a_queue_whose_MaximumMessageSize_is_below_a_job_When_the_backlog_enqueues_Then_it_refuses_naming_both_sizes()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rm");
        Assert.Equal(0, (await kit.ProvisionAsync(5)).ExitCode);
        string url = await kit.QueueUrlAsync(kit.Prefix + "jobs");
        await kit.Sqs.SetQueueAttributesAsync(url, new Dictionary<string, string> { ["MaximumMessageSize"] = "1024" });
        string deep = Path.Combine(kit.Folder, "in", new string('d', 200), new string('e', 200), new string('f', 200), new string('g', 200), new string('h', 200));
        Directory.CreateDirectory(deep);
        await File.WriteAllBytesAsync(Path.Combine(deep, "a.jpg"), Images.ShapeOnTexture(seed: 5).Jpeg);

        Bgpipe.Result run = await Bgpipe.RunAsync("backlog", Path.Combine(kit.Folder, "in"), "--out", Path.Combine(kit.Folder, "out"), "--endpoint-url", kit.Url, "--prefix", kit.Prefix);

        Assert.Equal(1, run.ExitCode);
        Assert.False(run.HasStackTrace, run.StdErr);
        Assert.Contains("MaximumMessageSize", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("1,024", run.StdErr.Replace("1024", "1,024", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal((0, 0), await kit.CountAsync(kit.Prefix + "jobs"));
    }

    [Fact]
    public async Task Given_s3_locations_without_an_endpoint_When_the_backlog_starts_Then_it_says_which_option_is_missing()
    {
        Bgpipe.Result run = await Bgpipe.RunAsync("backlog", "s3://some-bucket/in", "--out", "s3://some-bucket/out");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--endpoint-url", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("--aws", run.StdErr, StringComparison.Ordinal);
    }
}
