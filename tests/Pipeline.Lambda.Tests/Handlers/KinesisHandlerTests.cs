using Pipeline.Core.Invocation;
using Pipeline.Lambda.Handlers;
using static Pipeline.Lambda.Tests.Handlers.HandlerHarness;

namespace Pipeline.Lambda.Tests.Handlers;

public sealed class KinesisHandlerTests
{
    private static readonly TimeSpan Plenty = TimeSpan.FromMinutes(5);

    private static string[] Failed(BatchItemFailuresResponse r) => [.. r.BatchItemFailures.Select(f => f.ItemIdentifier)];

    [Fact]
    public async Task GivenBase64JobData_WhenHandled_ThenTheDecodedJobsRunInOrder()
    {
        var h = new HandlerHarness();
        BatchItemFailuresResponse response = await h.Kinesis.HandleAsync(KinesisEventOf(Job("a", "s3://b/x.jpg"), Job("b")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(response.BatchItemFailures);
        Assert.Equal(["a", "b"], h.Function.Invoked.Select(j => j.JobId));
        Assert.Equal("s3://b/x.jpg", h.Function.Invoked[0].Source);
    }

    [Fact]
    public async Task GivenAFailureMidBatch_WhenHandled_ThenItAndEveryLaterSequenceNumberAreReportedAndLaterOnesNeverRun()
    {
        var h = new HandlerHarness();
        BatchItemFailuresResponse response = await h.Kinesis.HandleAsync(
            KinesisEventOf(Job("a"), Job("b", "s3://bgpipe-input/corrupt.jpg"), Job("c")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Equal([Sequence(1), Sequence(2)], Failed(response));
        Assert.Equal(["a", "b"], h.Function.Invoked.Select(j => j.JobId));
    }

    [Fact]
    public async Task GivenDataThatIsNotBase64OrNotJson_WhenHandled_ThenTheLowestBadSequenceNumberIsReportedFirst()
    {
        var h = new HandlerHarness();
        BatchItemFailuresResponse response = await h.Kinesis.HandleAsync(
            KinesisEventOfData(Convert.ToBase64String("{\"source\":\"s3://b/k.jpg\"}"u8), "%%% not base64 %%%", Convert.ToBase64String("{oops"u8)),
            h.Deadline(Plenty), CancellationToken.None);

        Assert.Equal([Sequence(1), Sequence(2)], Failed(response));
        Assert.Single(h.Function.Invoked);
    }

    [Fact]
    public async Task GivenTheSameJobTwice_WhenHandled_ThenItRunsOnceAndNeitherFails()
    {
        var h = new HandlerHarness();
        BatchItemFailuresResponse response = await h.Kinesis.HandleAsync(KinesisEventOf(Job("dup"), Job("dup")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(response.BatchItemFailures);
        Assert.Single(h.Function.Invoked);
    }

    [Fact]
    public async Task GivenADeadlineSoCloseThatOnlySomeRecordsStart_WhenHandled_ThenTheRestAreReportedFromTheFirstUnstarted()
    {
        var h = new HandlerHarness(
            new DeadlineOptions { MinimumMargin = TimeSpan.FromSeconds(2), TimeoutFraction = 0 },
            (harness, _) => harness.Time.Advance(TimeSpan.FromSeconds(3)));

        BatchItemFailuresResponse response = await h.Kinesis.HandleAsync(
            KinesisEventOf(Job("a"), Job("b"), Job("c"), Job("d"), Job("e")), h.Deadline(TimeSpan.FromSeconds(10)), CancellationToken.None);

        Assert.Equal([Sequence(3), Sequence(4)], Failed(response));
        Assert.Equal(["a", "b", "c"], h.Function.Invoked.Select(j => j.JobId));
    }

    [Fact]
    public async Task GivenARecordWithoutSequenceNumber_WhenHandled_ThenTheInvocationFailsNamingIt()
    {
        var h = new HandlerHarness();
        var ev = KinesisEventOf(Job("a"));
        var broken = new Pipeline.Lambda.Events.KinesisEvent
        {
            Records = [new Pipeline.Lambda.Events.KinesisEventRecord { EventSource = "aws:kinesis", EventId = "shardId-000000000000:x", Kinesis = new Pipeline.Lambda.Events.KinesisRecord { Data = ev.Records[0].Kinesis!.Data } }],
        };

        var ex = await Assert.ThrowsAsync<InvalidEventException>(() => h.Kinesis.HandleAsync(broken, h.Deadline(Plenty), CancellationToken.None));

        Assert.Contains("sequenceNumber", ex.Message, StringComparison.Ordinal);
    }
}
