using Pipeline.Core.Idempotency;

namespace Pipeline.Core.Tests.Idempotency;

public sealed class LocalProcessLivenessTests
{
    // Above every pid_max a kernel allows (Linux caps it at 2^22) and far above what Windows or macOS hand out.
    private const int ImpossiblePid = 2147483000;

    private readonly LocalProcessLiveness _liveness = new();

    [Fact]
    public void GivenThisProcess_WhenChecking_ThenNotDead()
    {
        Assert.False(_liveness.IsDefinitelyDead(OwnerIdentity.Current.ToString()));
        Assert.False(_liveness.IsDefinitelyDead(OwnerIdentity.Current.WithNewInstance().ToString()));
    }

    [Fact]
    public void GivenPidThatCannotExistOnThisHost_WhenChecking_ThenDead()
    {
        Assert.True(new LocalProcessLiveness("thishost").IsDefinitelyDead($"thishost/{ImpossiblePid}/123"));
        Assert.True(_liveness.IsDefinitelyDead($"{Environment.MachineName}/{ImpossiblePid}/123"));
    }

    [Fact]
    public void GivenLiveProcessWhoseStartDiffers_WhenChecking_ThenDeadBecauseThePidWasReused()
    {
        var current = OwnerIdentity.Current;
        var earlierProcessWithSamePid = new OwnerIdentity(current.Host, current.ProcessId, current.ProcessStartTicks - 1);

        Assert.True(_liveness.IsDefinitelyDead(earlierProcessWithSamePid.ToString()));
    }

    [Fact]
    public void GivenOwnerOnAnotherHost_WhenChecking_ThenNotDead()
    {
        Assert.False(_liveness.IsDefinitelyDead($"some-other-host-{Guid.NewGuid():N}/{ImpossiblePid}/123"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not an owner")]
    [InlineData("host-without-pid")]
    public void GivenUnparsableOwner_WhenChecking_ThenNotDead(string owner)
    {
        Assert.False(_liveness.IsDefinitelyDead(owner));
    }

    [Fact]
    public void GivenThisPidWithUnknownRecordedStart_WhenChecking_ThenNotDead()
    {
        var current = OwnerIdentity.Current;

        Assert.False(_liveness.IsDefinitelyDead(new OwnerIdentity(current.Host, current.ProcessId, 0).ToString()));
    }
}
