using Microsoft.Extensions.Time.Testing;
using Pipeline.Aws.Kinesis.Leases;

namespace Pipeline.Aws.Tests.Kinesis.Leases;

public sealed class LeaseBalancerTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();

    private static Lease L(string key, string? owner, long counter = 1, string checkpoint = Checkpoints.TrimHorizon, params string[] parents) =>
        new(key, owner, counter, checkpoint, parents, 0);

    private LeaseBalancer Me() => new("me", Duration, _time);

    [Fact]
    public void GivenOnlyUnownedLeases_WhenDeciding_ThenTheOnlyHostTakesThemAllAtOnce()
    {
        var decision = Me().Decide([L("s0", null), L("s1", null), L("s2", null), L("s3", null)]);

        Assert.Equal(["s0", "s1", "s2", "s3"], decision.ToTake.Select(l => l.LeaseKey));
        Assert.Null(decision.ToSteal);
        Assert.Equal(4, decision.FairShare);
        Assert.Equal(["me"], decision.LiveHosts);
    }

    [Fact]
    public void GivenAnotherLiveHost_WhenDeciding_ThenUnownedLeasesAreTakenOnlyUpToTheFairShare()
    {
        var decision = Me().Decide([L("a", "other"), L("b", "other"), L("c", null), L("d", null), L("e", null), L("f", null), L("g", null)]);

        // 7 shards over 2 hosts: ceil(3.5) = 4.
        Assert.Equal(4, decision.FairShare);
        Assert.Equal(["c", "d", "e", "f"], decision.ToTake.Select(l => l.LeaseKey));
        Assert.Null(decision.ToSteal);
        Assert.Equal(["me", "other"], decision.LiveHosts);
    }

    [Fact]
    public void GivenAHostHoldingEverything_WhenDecidingTwice_ThenOneLeaseIsStolenPerCycleFromTheMostLoaded()
    {
        var balancer = Me();
        var all = new[] { L("a", "small"), L("b", "big"), L("c", "big"), L("d", "big"), L("e", "big"), L("f", "small") };

        var first = balancer.Decide(all);

        Assert.Empty(first.ToTake);
        Assert.Equal(2, first.FairShare);
        Assert.Equal("b", first.ToSteal?.LeaseKey);
        Assert.Equal("big", first.ToSteal?.Owner);

        // The steal succeeded: the next cycle sees "me" with one lease, "big" with three: one more, no more.
        var second = balancer.Decide([L("a", "small"), L("b", "me", 2), L("c", "big"), L("d", "big"), L("e", "big"), L("f", "small")]);
        Assert.Equal("c", second.ToSteal?.LeaseKey);

        var third = balancer.Decide([L("a", "small"), L("b", "me", 2), L("c", "me", 2), L("d", "big"), L("e", "big"), L("f", "small")]);
        Assert.Null(third.ToSteal);
        Assert.Empty(third.ToTake);
    }

    [Fact]
    public void GivenNobodyAboveTheFairShare_WhenBelowIt_ThenNothingIsStolen()
    {
        // 5 shards over 3 hosts: share 2; the others hold exactly 2 each.
        var decision = Me().Decide([L("a", "x"), L("b", "x"), L("c", "y"), L("d", "y"), L("e", "me")]);

        Assert.Equal(2, decision.FairShare);
        Assert.Null(decision.ToSteal);
        Assert.Empty(decision.ToTake);
    }

    [Fact]
    public void GivenALeaseWhoseCounterStopsMoving_WhenTheLeaseDurationPasses_ThenItIsExpiredAndTakenAndItsOwnerNoLongerLive()
    {
        var balancer = Me();
        var held = new[] { L("a", "dead", 5), L("b", "dead", 7) };
        var first = balancer.Decide(held);
        Assert.Empty(first.ToTake);
        Assert.Contains("dead", first.LiveHosts);

        _time.Advance(Duration - TimeSpan.FromMilliseconds(1));
        Assert.False(balancer.IsExpired(held[0]));
        Assert.Empty(balancer.Decide(held).ToTake);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var expired = balancer.Decide(held);

        Assert.Equal(["a", "b"], expired.ToTake.Select(l => l.LeaseKey));
        Assert.Equal(["me"], expired.LiveHosts);
        Assert.Null(expired.ToSteal);
    }

    [Fact]
    public void GivenALeaseWhoseCounterMoves_WhenTimePassesBeyondTheDuration_ThenItStaysLive()
    {
        var balancer = Me();
        balancer.Decide([L("a", "alive", 1)]);
        _time.Advance(Duration / 2);
        balancer.Decide([L("a", "alive", 2)]);
        _time.Advance(Duration / 2 + TimeSpan.FromSeconds(1));

        var decision = balancer.Decide([L("a", "alive", 2)]);

        Assert.False(balancer.IsExpired(L("a", "alive", 2)));
        Assert.Empty(decision.ToTake);
        Assert.Equal(["alive", "me"], decision.LiveHosts);
    }

    [Fact]
    public void GivenAChildWhoseParentIsNotFinished_WhenDeciding_ThenOnlyTheParentIsTakenUntilItReachesShardEnd()
    {
        var balancer = Me();
        var before = balancer.Decide([L("parent", null, 0), L("child", null, 0, Checkpoints.TrimHorizon, "parent")]);
        Assert.Equal(["parent"], before.ToTake.Select(l => l.LeaseKey));

        var stillRunning = balancer.Decide([L("parent", "me", 1, "123"), L("child", null, 0, Checkpoints.TrimHorizon, "parent")]);
        Assert.Empty(stillRunning.ToTake);

        var finished = balancer.Decide([L("parent", "me", 2, Checkpoints.ShardEnd), L("child", null, 0, Checkpoints.TrimHorizon, "parent")]);
        Assert.Equal(["child"], finished.ToTake.Select(l => l.LeaseKey));
    }

    [Fact]
    public void GivenAMergedChildWithOneParentGoneAndOneRunning_WhenDeciding_ThenItWaitsForTheRunningOne()
    {
        var balancer = Me();
        var waiting = balancer.Decide([L("p2", "other", 1, "9"), L("child", null, 0, Checkpoints.TrimHorizon, "p1", "p2")]);
        Assert.Empty(waiting.ToTake);

        var ready = balancer.Decide([L("child", null, 0, Checkpoints.TrimHorizon, "p1", "p2")]);
        Assert.Equal(["child"], ready.ToTake.Select(l => l.LeaseKey));
    }

    [Fact]
    public void GivenFinishedLeases_WhenDeciding_ThenTheyAreNeitherTakenNorCountedInTheShare()
    {
        var decision = Me().Decide([L("done", null, 3, Checkpoints.ShardEnd), L("a", null), L("b", "other")]);

        Assert.Equal(1, decision.FairShare);
        Assert.Equal(["a"], decision.ToTake.Select(l => l.LeaseKey));
    }

    [Fact]
    public void GivenBadArguments_WhenConstructing_ThenTheyAreRejectedByName()
    {
        Assert.Equal("workerId", Assert.Throws<ArgumentException>(() => new LeaseBalancer(" ", Duration, _time)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeaseBalancer("me", TimeSpan.Zero, _time));
    }
}
