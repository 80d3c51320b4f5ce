using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.SQS.Model;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Tools;

/// <summary><c>bgpipe replay</c>: event files back onto a queue or a stream.</summary>
[Collection(ToolsCollection.Name)]
public sealed partial class ReplayCommandTests(MotoFixture moto, KinesaliteFixture kinesalite)
{
    private static string Event(string name) => RepositoryRoot.Combine("events", name);

    [Fact]
    public async Task Given_a_file_that_does_not_exist_When_replayed_Then_it_exits_2_naming_it_and_sends_nothing()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rp");
        Assert.Equal(0, (await kit.ProvisionAsync(1)).ExitCode);

        Bgpipe.Result result = await Bgpipe.RunAsync("replay", Event("sqs-normal-batch.json"), "nope.json", "--endpoint-url", kit.Url, "--queue", kit.Prefix + "jobs");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bgpipe replay: nope.json: no such file", result.StdErr, StringComparison.Ordinal);
        Assert.Equal((0, 0), await kit.CountAsync(kit.Prefix + "jobs"));
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Theory]
    [InlineData("{\"Records\": [", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("{\"Records\":[{\"eventSource\":\"aws:sns\",\"Sns\":{}}]}", "eventSource 'aws:sns' is neither aws:sqs nor aws:kinesis")]
    [InlineData("{\"Records\":[]}", "empty")]
    [InlineData("{\"Records\":[{\"messageId\":\"m\",\"body\":\"x\",\"eventSource\":\"aws:sqs\",\"messageAttributes\":{\"a\":{\"binaryValue\":\"%%\",\"dataType\":\"Binary\"}}}]}", "message attribute 'a' whose binaryValue is not base64")]
    [InlineData("{\"Records\":[{\"messageId\":\"m\",\"eventSource\":\"aws:sqs\"}]}", "SQS record 0 (m) has no body")]
    [InlineData("{\"Records\":[{\"eventSource\":\"aws:kinesis\",\"kinesis\":{\"partitionKey\":\"k\",\"data\":\"%%%\",\"sequenceNumber\":\"1\"}}]}", "not base64")]
    public async Task Given_a_file_that_is_no_SQS_or_Kinesis_event_When_replayed_Then_it_exits_2_saying_what_is_wrong(string content, string message)
    {
        string file = Path.Combine(Path.GetTempPath(), $"bgpipe-replay-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, content);
        try
        {
            Bgpipe.Result result = await Bgpipe.RunAsync("replay", file, "--endpoint-url", moto.Endpoint.ServiceUrl!.ToString(), "--queue", "jobs");

            Assert.Equal(2, result.ExitCode);
            Assert.Contains(file, result.StdErr, StringComparison.Ordinal);
            Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
            Assert.False(result.HasStackTrace, result.StdErr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(new[] { "--queue", "q", "--stream", "s" }, "give exactly one target: --queue NAME or --stream NAME")]
    [InlineData(new string[0], "give exactly one target: --queue NAME or --stream NAME")]
    [InlineData(new[] { "--queue", "q", "--rate", "fast" }, "--rate must be records per second above 0")]
    [InlineData(new[] { "--queue", "q", "--rate", "0/s" }, "(got '0/s')")]
    [InlineData(new[] { "--queue", "q", "--repeat", "0" }, "--repeat must be between 1 and 10000 (got 0)")]
    public async Task Given_bad_options_When_replay_starts_Then_it_exits_2_naming_the_option(string[] options, string message)
    {
        Bgpipe.Result result = await Bgpipe.RunAsync(["replay", Event("sqs-normal-batch.json"), "--endpoint-url", "http://127.0.0.1:9/", .. options]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_a_queue_that_does_not_exist_When_replayed_Then_it_exits_2_naming_the_queue_and_provision()
    {
        Bgpipe.Result result = await Bgpipe.RunAsync("replay", Event("sqs-normal-batch.json"), "--endpoint-url", moto.Endpoint.ServiceUrl!.ToString(), "--queue", "no-such-queue-" + Guid.NewGuid().ToString("N")[..6]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("SQS queue 'no-such-queue-", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("does not exist", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("bgpipe provision", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_a_stream_that_does_not_exist_When_replayed_Then_it_exits_2_naming_the_stream()
    {
        Bgpipe.Result result = await Bgpipe.RunAsync("replay", Event("kinesis-normal-batch.json"), "--endpoint-url", moto.Endpoint.ServiceUrl!.ToString(),
            "--kinesis-endpoint-url", kinesalite.Endpoint.ServiceUrl!.ToString(), "--stream", "no-such-stream");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Kinesis stream 'no-such-stream' does not exist", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_Kinesis_data_that_is_not_UTF8_When_replayed_to_a_queue_Then_it_exits_2_naming_the_record()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rb");
        Assert.Equal(0, (await kit.ProvisionAsync(1)).ExitCode);
        string file = Path.Combine(kit.Folder, "binary.json");
        string data = Convert.ToBase64String([0xFF, 0xFE, 0x00]);
        await File.WriteAllTextAsync(file, "{\"Records\":[{\"eventSource\":\"aws:kinesis\",\"kinesis\":{\"partitionKey\":\"k\",\"data\":\"" + data + "\",\"sequenceNumber\":\"42\"}}]}");

        Bgpipe.Result result = await Bgpipe.RunAsync("replay", file, "--endpoint-url", kit.Url, "--queue", kit.Prefix + "jobs");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("record 42 holds data that is not UTF-8 text", result.StdErr, StringComparison.Ordinal);
        Assert.Equal((0, 0), await kit.CountAsync(kit.Prefix + "jobs"));
    }

    [Fact]
    public async Task Given_an_SQS_event_When_replayed_twice_to_its_queue_Then_every_body_arrives_twice_with_one_line_per_record()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rq");
        Assert.Equal(0, (await kit.ProvisionAsync(1)).ExitCode);

        Bgpipe.Result result = await Bgpipe.RunAsync("replay", Event("sqs-mixed-batch.json"), "--endpoint-url", kit.Url, "--queue", kit.Prefix + "jobs", "--repeat", "2");

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(8, SentMessage().Matches(result.StdOut).Count);
        Assert.Contains("[2/2] ", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("bgpipe replay: 8 record(s) from 1 file(s) sent to", result.StdOut, StringComparison.Ordinal);
        Assert.Contains(", 2 times", result.StdOut, StringComparison.Ordinal);
        var bodies = new List<string>();
        string url = await kit.QueueUrlAsync(kit.Prefix + "jobs");
        await RemoteKit.UntilAsync(async () =>
        {
            ReceiveMessageResponse r = await kit.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, VisibilityTimeout = 60 });
            bodies.AddRange((r.Messages ?? []).Select(m => m.Body));
            return bodies.Count >= 8;
        }, "8 messages", 30);
        Assert.Equal(2, bodies.Count(b => b.Contains("\"sorce\"", StringComparison.Ordinal)));
        Assert.Equal(2, bodies.Count(b => b.Contains("photo-0304", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Given_message_attributes_and_FIFO_ids_When_replayed_to_a_FIFO_queue_Then_they_are_kept()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rf");
        string name = kit.Prefix + "jobs.fifo";
        string url = (await kit.Sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = name, Attributes = new() { ["FifoQueue"] = "true" } })).QueueUrl;
        string file = Path.Combine(kit.Folder, "fifo.json");
        await File.WriteAllTextAsync(file, """
            {"Records":[{"messageId":"m-1","body":"{\"source\":\"s3://b/a.jpg\"}","eventSource":"aws:sqs",
              "attributes":{"ApproximateReceiveCount":"1","MessageGroupId":"group-7","MessageDeduplicationId":"dedup-7"},
              "messageAttributes":{"tenant":{"stringValue":"acme","stringListValues":[],"binaryListValues":[],"dataType":"String"}}}]}
            """);

        Bgpipe.Result result = await Bgpipe.RunAsync("replay", file, "--endpoint-url", kit.Url, "--queue", name);

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Matches(@"fifo\.json m-1 -> message \S+", result.StdOut);
        ReceiveMessageResponse received = await kit.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url, MaxNumberOfMessages = 1, MessageAttributeNames = ["All"], MessageSystemAttributeNames = ["All"],
        });
        Message message = Assert.Single(received.Messages);
        Assert.Equal("{\"source\":\"s3://b/a.jpg\"}", message.Body);
        Assert.Equal("acme", message.MessageAttributes["tenant"].StringValue);
        Assert.Equal("group-7", message.Attributes["MessageGroupId"]);
        Assert.Equal("dedup-7", message.Attributes["MessageDeduplicationId"]);
    }

    [Fact]
    public async Task Given_an_SQS_event_When_replayed_to_a_stream_Then_each_body_is_a_record_keyed_by_its_job()
    {
        using var kit = new KinesisKit(moto.Endpoint, kinesalite.Endpoint, "rs");
        Assert.Equal(0, (await kit.ProvisionAsync(2)).ExitCode);

        Bgpipe.Result result = await Bgpipe.RunAsync("replay", Event("sqs-duplicate-job.json"), Event("sqs-poison-message.json"), "--endpoint-url", kit.Remote.Url,
            "--kinesis-endpoint-url", kit.KinesisUrl, "--stream", kit.Stream);

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(4, SentRecord().Matches(result.StdOut).Count);
        var records = new List<Pipeline.Aws.Kinesis.Client.Record>();
        foreach (Shard shard in await kit.Kinesis.ListAllShardsAsync(kit.Stream))
        {
            string iterator = (await kit.Kinesis.GetShardIteratorAsync(new GetShardIteratorRequest { StreamName = kit.Stream, ShardId = shard.ShardId, ShardIteratorType = ShardIteratorType.TrimHorizon })).ShardIterator;
            records.AddRange((await kit.Kinesis.GetRecordsAsync(new GetRecordsRequest { ShardIterator = iterator })).Records);
        }

        Assert.Equal(4, records.Count);
        Assert.Equal(2, records.Count(r => r.PartitionKey == "photo-0101")); // the job's key keeps its copies on one shard, in order
        Assert.Contains(records, r => r.PartitionKey == "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a" && Encoding.UTF8.GetString(r.Data.Span) == "this is not a job, it is plain text");
    }

    [Fact]
    public async Task Given_a_rate_of_2_per_second_When_8_records_are_replayed_Then_they_leave_in_4_one_second_bursts()
    {
        using var kit = new RemoteKit(moto.Endpoint, "rr");
        Assert.Equal(0, (await kit.ProvisionAsync(1)).ExitCode);
        var clock = Stopwatch.StartNew();

        // At 2/s a request carries at most 2 records and the k-th request leaves k seconds after the first: 0, 1, 2, 3 s.
        Bgpipe.Result result = await Bgpipe.RunAsync("replay", Event("sqs-mixed-batch.json"), "--endpoint-url", kit.Url, "--queue", kit.Prefix + "jobs", "--rate", "2/s", "--repeat", "2");

        clock.Stop();
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(8, SentMessage().Matches(result.StdOut).Count);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3), $"8 records at 2/s took {clock.Elapsed}");
    }

    [GeneratedRegex(@"\.json \S+ -> message \S+")]
    private static partial Regex SentMessage();

    [GeneratedRegex(@"\.json \S+ -> shardId-\d+ \d+")]
    private static partial Regex SentRecord();
}
