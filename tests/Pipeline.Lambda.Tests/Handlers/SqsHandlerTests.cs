using Pipeline.Core.Invocation;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.Handlers;
using static Pipeline.Lambda.Tests.Handlers.HandlerHarness;

namespace Pipeline.Lambda.Tests.Handlers;

public sealed class SqsHandlerTests
{
    private static readonly TimeSpan Plenty = TimeSpan.FromMinutes(5);

    private static string[] Failed(BatchItemFailuresResponse r) => [.. r.BatchItemFailures.Select(f => f.ItemIdentifier)];

    [Fact]
    public async Task GivenValidJobs_WhenHandled_ThenEveryJobRunsAndNothingFails()
    {
        var h = new HandlerHarness();
        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(SqsEventOf(Job("a"), Job("b")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(response.BatchItemFailures);
        Assert.Equal(["a", "b"], h.Function.Invoked.Select(j => j.JobId));
    }

    [Fact]
    public async Task GivenNonJsonAndCorruptImageAmongValidJobs_WhenHandled_ThenOnlyThoseMessageIdsFail()
    {
        var h = new HandlerHarness();
        SqsEvent ev = SqsEventOf(Job("a"), "not json at all", Job("c", "s3://bgpipe-input/corrupt.jpg"), Job("d"));

        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(ev, h.Deadline(Plenty), CancellationToken.None);

        Assert.Equal(["msg-1", "msg-2"], Failed(response));
        Assert.Equal(["a", "c", "d"], h.Function.Invoked.Select(j => j.JobId));
    }

    [Fact]
    public async Task GivenTheSameJobTwiceInOneBatch_WhenHandled_ThenItRunsOnceAndNeitherFails()
    {
        var h = new HandlerHarness();
        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(SqsEventOf(Job("dup"), Job("dup")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(response.BatchItemFailures);
        Assert.Single(h.Function.Invoked);
    }

    [Fact]
    public async Task GivenAJobAlreadyCompleted_WhenItArrivesAgain_ThenItIsSkippedWithoutRunning()
    {
        var h = new HandlerHarness();
        await h.Sqs.HandleAsync(SqsEventOf(Job("once")), h.Deadline(Plenty), CancellationToken.None);

        BatchItemFailuresResponse again = await h.Sqs.HandleAsync(SqsEventOf(Job("once")), h.Deadline(Plenty), CancellationToken.None);

        Assert.Empty(again.BatchItemFailures);
        Assert.Single(h.Function.Invoked);
    }

    [Fact]
    public async Task GivenAMessageWithoutMessageId_WhenHandled_ThenTheInvocationFailsNamingIt()
    {
        var h = new HandlerHarness();
        var ev = new SqsEvent { Records = [new SqsMessage { Body = Job("a"), EventSource = EventSources.Sqs }] };

        var ex = await Assert.ThrowsAsync<InvalidEventException>(() => h.Sqs.HandleAsync(ev, h.Deadline(Plenty), CancellationToken.None));

        Assert.Contains("messageId", ex.Message, StringComparison.Ordinal);
        Assert.Empty(h.Function.Invoked);
    }

    [Fact]
    public async Task GivenADeadlineSoCloseThatOnlySomeRecordsStart_WhenHandled_ThenTheUnstartedOnesAreReportedAsFailures()
    {
        // 10 s left, 2 s margin, each record takes 3 s: records start with 10, 7 and 4 s left; the fourth would
        // start with 1 s left, so it and the fifth are not started.
        var h = new HandlerHarness(
            new DeadlineOptions { MinimumMargin = TimeSpan.FromSeconds(2), TimeoutFraction = 0 },
            (harness, _) => harness.Time.Advance(TimeSpan.FromSeconds(3)));

        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(
            SqsEventOf(Job("a"), Job("b"), Job("c"), Job("d"), Job("e")), h.Deadline(TimeSpan.FromSeconds(10)), CancellationToken.None);

        Assert.Equal(["msg-3", "msg-4"], Failed(response));
        Assert.Equal(["a", "b", "c"], h.Function.Invoked.Select(j => j.JobId));
    }

    [Fact]
    public async Task GivenTheDefaultMargin_WhenTheInvocationHadALongTimeout_ThenTenPercentIsKeptInReserve()
    {
        // 100 s at the start: the margin is 10 s, not the 2 s floor. Records take 31 s: they start with 100, 69 and
        // 38 s left; the fourth would start with 7 s left (enough for the floor, not for 10 %).
        var h = new HandlerHarness(onInvoke: (harness, _) => harness.Time.Advance(TimeSpan.FromSeconds(31)));

        BatchItemFailuresResponse response = await h.Sqs.HandleAsync(
            SqsEventOf(Job("a"), Job("b"), Job("c"), Job("d")), h.Deadline(TimeSpan.FromSeconds(100)), CancellationToken.None);

        Assert.Equal(["msg-3"], Failed(response));
        Assert.Equal(3, h.Function.Invoked.Count);
    }
}
