using Amazon.SQS.Model;
using Pipeline.Cli.Tests.Emulators;
using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Tools;

/// <summary><c>bgpipe dlq list</c> and <c>bgpipe dlq redrive</c> on moto_server.</summary>
[Collection(ToolsCollection.Name)]
public sealed class DlqCommandTests(MotoFixture moto)
{
    private static async Task<string> DeadLetterAsync(RemoteKit kit, string body, string? tenant = null)
    {
        var request = new SendMessageRequest(await kit.QueueUrlAsync(kit.Prefix + "jobs-dlq"), body);
        if (tenant is not null)
        {
            request.MessageAttributes = new() { ["tenant"] = new MessageAttributeValue { DataType = "String", StringValue = tenant } };
        }

        return (await kit.Sqs.SendMessageAsync(request)).MessageId;
    }

    [Fact]
    public async Task Given_dead_letters_without_failure_records_When_listed_through_the_DLQ_itself_Then_each_shows_its_job_and_stays_visible()
    {
        using var kit = new RemoteKit(moto.Endpoint, "dl");
        Assert.Equal(0, (await kit.ProvisionAsync(1)).ExitCode);
        string job = await DeadLetterAsync(kit, RemoteKit.Job("s3://in/a.jpg", "s3://out/a.png"));
        string text = await DeadLetterAsync(kit, "hello");

        Bgpipe.Result result = await Bgpipe.RunAsync("dlq", "list", "--endpoint-url", kit.Url, "--queue", kit.Prefix + "jobs-dlq", "--prefix", kit.Prefix);

        Assert.True(result.ExitCode == 0, result.StdErr);
        string[] lines = result.StdOut.Split('\n');
        string jobLine = Assert.Single(lines, l => l.StartsWith(job, StringComparison.Ordinal));
        Assert.Contains("receives 1", jobLine, StringComparison.Ordinal);
        Assert.Contains("(s3://in/a.jpg)", jobLine, StringComparison.Ordinal);
        Assert.Contains("reason: no failure record (transient failures until maxReceiveCount); the source does not exist now", jobLine, StringComparison.Ordinal);
        Assert.Contains("body 'hello'  reason: not a job: message body is not valid JSON", Assert.Single(lines, l => l.StartsWith(text, StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains($"bgpipe dlq: 2 dead letter(s) on {kit.Prefix}jobs-dlq (from {kit.Prefix}jobs after 5 receives)", result.StdOut, StringComparison.Ordinal);
        Assert.Equal(2, (await kit.CountAsync(kit.Prefix + "jobs-dlq")).Visible);
    }

    [Fact]
    public async Task Given_three_dead_letters_When_redriven_with_max_2_Then_two_move_to_the_source_with_their_attributes_and_one_stays()
    {
        using var kit = new RemoteKit(moto.Endpoint, "dr");
        Assert.Equal(0, (await kit.ProvisionAsync(1)).ExitCode);
        for (int i = 0; i < 3; i++)
        {
            await DeadLetterAsync(kit, RemoteKit.Job($"s3://in/{i}.jpg"), tenant: "acme");
        }

        Bgpipe.Result result = await Bgpipe.RunAsync("dlq", "redrive", "--endpoint-url", kit.Url, "--queue", kit.Prefix + "jobs", "--prefix", kit.Prefix, "--max", "2");

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains($"bgpipe dlq: moved 2 message(s) from {kit.Prefix}jobs-dlq to {kit.Prefix}jobs; cleared 0 failure record(s)", result.StdOut, StringComparison.Ordinal);
        Assert.Equal(1, (await kit.CountAsync(kit.Prefix + "jobs-dlq")).Visible + (await kit.CountAsync(kit.Prefix + "jobs-dlq")).InFlight);
        ReceiveMessageResponse moved = await kit.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = await kit.QueueUrlAsync(kit.Prefix + "jobs"), MaxNumberOfMessages = 10, MessageAttributeNames = ["All"] });
        Assert.Equal(2, moved.Messages.Count);
        Assert.All(moved.Messages, m => Assert.Equal("acme", m.MessageAttributes["tenant"].StringValue));
        Assert.All(moved.Messages, m => Assert.StartsWith("{\"source\":\"s3://in/", m.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_a_queue_that_does_not_exist_When_listed_Then_it_exits_2_naming_it()
    {
        Bgpipe.Result result = await Bgpipe.RunAsync("dlq", "list", "--endpoint-url", moto.Endpoint.ServiceUrl!.ToString(), "--queue", "no-such-jobs");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bgpipe dlq list: SQS queue 'no-such-jobs' does not exist", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Fact]
    public async Task Given_a_queue_with_no_DLQ_When_redriven_Then_it_exits_2_saying_so()
    {
        using var kit = new RemoteKit(moto.Endpoint, "dn");
        await kit.Sqs.CreateQueueAsync(kit.Prefix + "plain");

        Bgpipe.Result result = await Bgpipe.RunAsync("dlq", "redrive", "--endpoint-url", kit.Url, "--queue", kit.Prefix + "plain");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"queue {kit.Prefix}plain has no RedrivePolicy and no queue dead-letters to it", result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }

    [Theory]
    [InlineData(new[] { "dlq", "redrive", "--queue", "q", "--max", "0" }, "--max must be at least 1 (got 0)")]
    [InlineData(new[] { "dlq", "list" }, "--queue")]
    [InlineData(new[] { "dlq", "list", "--queue", "q", "--max", "3" }, "--max")]
    public async Task Given_bad_options_When_dlq_starts_Then_it_exits_2_naming_the_option(string[] args, string message)
    {
        Bgpipe.Result result = await Bgpipe.RunAsync([.. args, "--endpoint-url", "http://127.0.0.1:9/"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.StdErr);
    }
}
