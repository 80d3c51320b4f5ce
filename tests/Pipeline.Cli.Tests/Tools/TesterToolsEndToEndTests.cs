using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.SQS.Model;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Core.Records;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;
using Xunit.Abstractions;

namespace Pipeline.Cli.Tests.Tools;

/// <summary>
/// The tester's loop of README.md's "Testing with LocalStack", run on moto_server alone (SQS, Kinesis, DynamoDB, S3):
/// provision, upload the sources, <c>bgpipe replay</c> every file in events/, host both pipelines with <c>bgpipe run</c>,
/// look at the DLQ with <c>bgpipe dlq list</c>, fix the sources, <c>bgpipe dlq redrive</c>.
/// </summary>
[Collection(ToolsCollection.Name)]
public sealed partial class TesterToolsEndToEndTests(MotoFixture moto, ITestOutputHelper log)
{
    private const string TruncatedSequence = "49590737448564745613892097637509788671000000022000";
    private const string CorruptSequence = "49590737448564745613892097637509788671000000032000";

    [Fact]
    public async Task Given_every_event_file_replayed_on_moto_When_both_pipelines_run_and_the_DLQ_is_redriven_after_the_fix_Then_each_job_is_done_once_and_only_undecodable_bodies_stay_dead()
    {
        // The stream is moto's too: one shard and no resharding, which moto 5.2.1 serves faithfully.
        using var kit = new KinesisKit(moto.Endpoint, moto.Endpoint, "tl");
        RemoteKit remote = kit.Remote;
        string jobsQueue = remote.Prefix + "jobs";
        string dlq = remote.Prefix + "jobs-dlq";

        // Given the queue + DLQ (visibility 6 s, maxReceiveCount 5), stream, tables and buckets on moto_server,
        Bgpipe.Result provision = await Bgpipe.RunAsync(
            "provision", "--endpoint-url", remote.Url, "--kinesis-endpoint-url", kit.KinesisUrl, "--prefix", remote.Prefix,
            "--function-timeout", "1", "--shards", "1", "--bucket", ToolsKit.InBucket, "--bucket", ToolsKit.OutBucket);
        Assert.True(provision.ExitCode == 0, provision.StdErr);
        GetQueueAttributesResponse attributes = await remote.Sqs.GetQueueAttributesAsync(await remote.QueueUrlAsync(jobsQueue), ["RedrivePolicy"]);
        Assert.Contains("\"maxReceiveCount\":5", attributes.Attributes["RedrivePolicy"].Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);

        // and the sources events/README.md describes (real photos, corrupt.jpg no image, missing.jpg absent),
        List<string> keys = await ToolsKit.UploadSourcesAsync(remote);
        await ToolsKit.EmptyOutputsAsync(remote);
        Assert.Contains("photos/corrupt.jpg", keys);
        Assert.Contains("photos/missing.jpg", keys);

        // When every file in events/ is replayed: SQS files to the queue, Kinesis files to the stream,
        string[] files = ToolsKit.EventFiles();
        string[] sqsFiles = [.. files.Where(f => !ToolsKit.IsKinesis(f))];
        string[] kinesisFiles = [.. files.Where(ToolsKit.IsKinesis)];
        Assert.Equal(5, sqsFiles.Length);
        Assert.Equal(4, kinesisFiles.Length);
        Bgpipe.Result toQueue = await Bgpipe.RunAsync(["replay", .. sqsFiles, "--endpoint-url", remote.Url, "--queue", jobsQueue]);
        Assert.True(toQueue.ExitCode == 0, toQueue.StdErr);
        Assert.Contains("bgpipe replay: 11 record(s) from 5 file(s) sent to", toQueue.StdOut, StringComparison.Ordinal);
        Bgpipe.Result toStream = await Bgpipe.RunAsync(["replay", .. kinesisFiles, "--endpoint-url", remote.Url, "--kinesis-endpoint-url", kit.KinesisUrl, "--stream", kit.Stream]);
        Assert.True(toStream.ExitCode == 0, toStream.StdErr);
        Assert.Contains($"bgpipe replay: 9 record(s) from 4 file(s) sent to stream {kit.Stream}", toStream.StdOut, StringComparison.Ordinal);
        Dictionary<string, string> newSequence = SentRecord().Matches(toStream.StdOut).ToDictionary(m => m.Groups["id"].Value, m => m.Groups["sequence"].Value);
        Assert.Equal(9, newSequence.Count);

        // and bgpipe run hosts pipelines/sqs-backlog.yaml and pipelines/kinesis-stream.yaml,
        string sqsPipeline = SqsPipelineWithoutFilter(remote.Folder);
        string sqsCalls = Path.Combine(remote.Folder, "sqs-calls.log");
        string streamCalls = Path.Combine(remote.Folder, "stream-calls.log");
        List<Job> jobs = ToolsKit.Jobs();
        bool Fine(Job j) => !j.Source.EndsWith("corrupt.jpg", StringComparison.Ordinal) && !j.Source.EndsWith("missing.jpg", StringComparison.Ordinal);
        var expected = jobs.Where(Fine).Select(j => j.Destination!).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(12, expected.Count); // 6 SQS jobs (one in a MassTransit envelope) + 6 Kinesis jobs, the duplicates counted once

        using Process sqsHost = Bgpipe.StartCapturing(out Func<string> sqsOutput, "run", sqsPipeline, "--endpoint-url", remote.Url, "--prefix", remote.Prefix,
            "--wait-time-seconds", "1", "--claim-lease", "4", "--heartbeat", "1", "--call-log", sqsCalls);
        using Process streamHost = Bgpipe.StartCapturing(out Func<string> streamOutput, kit.RunArgs(RepositoryRoot.Combine("pipelines", "kinesis-stream.yaml"), streamCalls, "tools-a"));
        try
        {
            List<JsonElement> onFailure;
            try
            {
                // Then every valid job's output appears, the 4 SQS poison messages reach the DLQ after 5 receives,
                await RemoteKit.UntilAsync(async () => (await Outputs(remote)).Count >= expected.Count, $"{expected.Count} outputs", 150);
                await RemoteKit.UntilAsync(async () => (await remote.CountAsync(dlq)).Visible == 4, "4 messages in the DLQ", 150);

                // and the 2 bad Kinesis records reach the on-failure queue.
                onFailure = await kit.DrainFailuresAsync(expected: 2);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; outputs {string.Join(", ", await Outputs(remote))}; DLQ {await remote.CountAsync(dlq)}; jobs {await remote.CountAsync(jobsQueue)}\nSQS host:\n{sqsOutput()}\nstream host:\n{streamOutput()}", ex);
            }

            Assert.Equal(expected, await Outputs(remote));
            AssertOneCallPerJob(sqsCalls, jobs.Where(j => !j.Destination!.Contains("/stream/", StringComparison.Ordinal)).Where(Fine).Select(j => j.Source), 6);
            AssertOneCallPerJob(streamCalls, jobs.Where(j => j.Destination!.Contains("/stream/", StringComparison.Ordinal)).Where(Fine).Select(j => j.Source), 6);
            Assert.Equal(
                new[] { newSequence[TruncatedSequence], newSequence[CorruptSequence] }.Order(StringComparer.Ordinal),
                onFailure.Select(f => f.GetProperty("KinesisBatchInfo").GetProperty("startSequenceNumber").GetString()!).Order(StringComparer.Ordinal));

            // When bgpipe dlq list looks at the DLQ (named through the jobs queue),
            Bgpipe.Result list = await Bgpipe.RunAsync("dlq", "list", "--endpoint-url", remote.Url, "--queue", jobsQueue, "--prefix", remote.Prefix, "--pipeline", sqsPipeline);
            log.WriteLine(list.StdOut + list.StdErr);
            Assert.True(list.ExitCode == 0, list.StdErr);

            // Then each dead letter shows its receive count (>= 5), its job or body, and why it died.
            List<Match> lines = DeadLetterLine().Matches(list.StdOut).ToList();
            Assert.Equal(4, lines.Count);
            foreach (Match m in lines)
            {
                Assert.True(int.Parse(m.Groups["receives"].Value, CultureInfo.InvariantCulture) >= 5, m.Value);
            }

            string Line(string text) => Assert.Single(lines, m => m.Value.Contains(text, StringComparison.Ordinal)).Value;
            Assert.Contains("reason: not a job", Line("'this is not a job, it is plain text'"), StringComparison.Ordinal);
            Assert.Contains("reason: not a job", Line("photo-0302"), StringComparison.Ordinal);
            Assert.Contains("source", Line("photo-0302")[Line("photo-0302").IndexOf("reason:", StringComparison.Ordinal)..], StringComparison.Ordinal);
            string corrupt = Line("job photo-0201 (s3://bgpipe-input/photos/corrupt.jpg)");
            Assert.DoesNotContain("no failure record", corrupt, StringComparison.Ordinal); // its FAILED_PERMANENT reason
            Assert.DoesNotContain("reason: unknown", corrupt, StringComparison.Ordinal);
            Assert.Contains("job photo-0304 (s3://bgpipe-input/photos/missing.jpg)", Line("photo-0304"), StringComparison.Ordinal);
            Assert.Contains("reason: no failure record (transient failures until maxReceiveCount); the source does not exist now", Line("photo-0304"), StringComparison.Ordinal);
            string corruptDeadLetter = lines.Single(m => m.Value == corrupt).Groups["id"].Value;
            Assert.Contains("bgpipe dlq: 4 dead letter(s)", list.StdOut, StringComparison.Ordinal);
            Assert.Equal(4, (await remote.CountAsync(dlq)).Visible); // listing hid nothing

            // When the sources are fixed and the DLQ is redriven,
            await remote.PutAsync(ToolsKit.InBucket, "photos/corrupt.jpg", ToolsKit.Photo("corrupt.jpg", 0));
            await remote.PutAsync(ToolsKit.InBucket, "photos/missing.jpg", ToolsKit.Photo("missing.jpg", 1));
            Bgpipe.Result redrive = await Bgpipe.RunAsync("dlq", "redrive", "--endpoint-url", remote.Url, "--queue", jobsQueue, "--prefix", remote.Prefix, "--pipeline", sqsPipeline);
            log.WriteLine(redrive.StdOut + redrive.StdErr);
            Assert.True(redrive.ExitCode == 0, redrive.StdErr);
            Assert.Contains($"bgpipe dlq: moved 4 message(s) from {dlq} to {jobsQueue}", redrive.StdOut, StringComparison.Ordinal);
            Assert.Matches($"{Regex.Escape(corruptDeadLetter)} -> {Regex.Escape(jobsQueue)} \\S+, cleared [1-9]\\d* failure record", redrive.StdOut);

            // Then the fixed jobs are processed, and only the two undecodable bodies go back to the DLQ.
            try
            {
                await RemoteKit.UntilAsync(async () => (await Outputs(remote)).Count >= expected.Count + 2, "the fixed jobs' outputs", 60);
                await RemoteKit.UntilAsync(async () => (await remote.CountAsync(dlq)).Visible == 2 && (await remote.CountAsync(jobsQueue)) == (0, 0), "2 messages back in the DLQ", 120);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message}; outputs {string.Join(", ", await Outputs(remote))}; DLQ {await remote.CountAsync(dlq)}\nSQS host:\n{sqsOutput()}", ex);
            }

            Assert.Equal([.. expected, "s3://bgpipe-output/cutouts/corrupt.png", "s3://bgpipe-output/cutouts/missing.png"], await Outputs(remote));
            ReceiveMessageResponse dead = await remote.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = await remote.QueueUrlAsync(dlq), MaxNumberOfMessages = 10 });
            Assert.Equal(
                new[] { "this is not a job, it is plain text", "{\"jobId\":\"photo-0302\",\"sorce\":\"s3://bgpipe-input/photos/bird.jpg\"}" }.Order(StringComparer.Ordinal),
                dead.Messages.Select(m => m.Body).Order(StringComparer.Ordinal));
        }
        finally
        {
            Bgpipe.Terminate(sqsHost);
            Bgpipe.Terminate(streamHost);
            await sqsHost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await streamHost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.True(sqsHost.ExitCode == 0, sqsOutput());
        Assert.True(streamHost.ExitCode == 0, streamOutput());
        Assert.DoesNotContain("   at ", sqsOutput() + streamOutput(), StringComparison.Ordinal);
    }

    /// <summary>
    /// pipelines/sqs-backlog.yaml without its FilterCriteria: a body filter deletes a plain-text body without invoking
    /// (as AWS does), so the plain-text poison message would never reach the DLQ this test watches.
    /// </summary>
    private static string SqsPipelineWithoutFilter(string folder)
    {
        string yaml = File.ReadAllText(RepositoryRoot.Combine("pipelines", "sqs-backlog.yaml"));
        int filter = yaml.IndexOf("      FilterCriteria:", StringComparison.Ordinal);
        Assert.True(filter > 0, "sqs-backlog.yaml has a FilterCriteria section");
        string path = Path.Combine(folder, "sqs-backlog.yaml");
        File.WriteAllText(path, yaml[..filter]);
        return path;
    }

    private static async Task<HashSet<string>> Outputs(RemoteKit remote) =>
        (await remote.ListAsync(ToolsKit.OutBucket, string.Empty)).Select(o => $"s3://{ToolsKit.OutBucket}/{o.Key}").ToHashSet(StringComparer.Ordinal);

    /// <summary>One function call per valid job: the duplicate deliveries were skipped, not run again.</summary>
    private static void AssertOneCallPerJob(string callLog, IEnumerable<string> sources, int jobs)
    {
        var wanted = sources.ToHashSet(StringComparer.Ordinal);
        var calls = File.ReadAllLines(callLog).Select(l => l.Split('\t')).Where(f => wanted.Contains(f[1])).ToList();
        Assert.Equal(jobs, calls.Count);
        Assert.Equal(jobs, calls.Select(f => f[0]).Distinct(StringComparer.Ordinal).Count());
    }

    [GeneratedRegex(@"\S+\.json (?<id>\d+) -> shardId-\d+ (?<sequence>\d+)")]
    private static partial Regex SentRecord();

    [GeneratedRegex(@"(?<id>[0-9a-f-]{36})  receives (?<receives>\d+)  [^\n]*")]
    private static partial Regex DeadLetterLine();
}
