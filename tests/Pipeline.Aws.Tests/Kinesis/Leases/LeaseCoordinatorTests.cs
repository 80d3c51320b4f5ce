using Microsoft.Extensions.Time.Testing;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Tests.Kinesis.Leases.Fakes;

namespace Pipeline.Aws.Tests.Kinesis.Leases;

public sealed class LeaseCoordinatorTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryLeaseStore _store = new();
    private readonly List<Exception> _errors = [];
    private readonly List<OwnershipChange> _changes = [];

    private LeaseCoordinator New(string worker = "me")
    {
        var coordinator = new LeaseCoordinator(
            _store,
            new LeaseCoordinatorOptions { WorkerId = worker, LeaseDuration = TimeSpan.FromSeconds(10) },
            _time,
            finalCheckpoint: (shard, _) => ValueTask.FromResult<string?>(shard == "s0" ? "55" : null),
            onError: _errors.Add);
        coordinator.OwnershipChanged += (_, c) => _changes.Add(c);
        return coordinator;
    }

    private async Task SeedAsync(int shards) =>
        await _store.CreateIfMissingAsync(Enumerable.Range(0, shards).Select(i => new NewLease($"s{i}", [], Checkpoints.TrimHorizon)).ToArray(), CancellationToken.None);

    [Fact]
    public async Task GivenAnOutage_WhenACycleRuns_ThenNothingThrowsTheHandlerGetsItAndLeasesAreLostOnlyAfterTheLeaseDuration()
    {
        await SeedAsync(2);
        var coordinator = New();
        await coordinator.RunCycleAsync(CancellationToken.None);
        Assert.Equal(["s0", "s1"], coordinator.OwnedShards);

        _store.Failing = true;
        _time.Advance(TimeSpan.FromSeconds(9));
        await coordinator.RunCycleAsync(CancellationToken.None);
        Assert.Equal(["s0", "s1"], coordinator.OwnedShards);
        Assert.All(_errors, e => Assert.IsType<LeaseStoreUnavailableException>(e));
        Assert.Equal(3, _errors.Count); // two renewals, one listing

        _time.Advance(TimeSpan.FromSeconds(1));
        await coordinator.RunCycleAsync(CancellationToken.None);
        Assert.Empty(coordinator.OwnedShards);
        Assert.Equal(2, _changes.Count(c => c.Kind == OwnershipChangeKind.Lost));
    }

    [Fact]
    public async Task GivenAWriteOfOursAppliedButUnseen_WhenTheNextCycleRenews_ThenTheLeaseIsKeptAtItsNewCounter()
    {
        await SeedAsync(1);
        var coordinator = New();
        await coordinator.RunCycleAsync(CancellationToken.None);
        var mine = (await _store.ListAsync(CancellationToken.None)).Single();

        // A checkpoint that timed out on our side after the table applied it: the counter moved without us seeing it.
        var applied = await _store.TryCheckpointAsync(mine, "42", CancellationToken.None);
        Assert.NotNull(applied);
        await coordinator.RunCycleAsync(CancellationToken.None);

        Assert.Equal(["s0"], coordinator.OwnedShards);
        Assert.DoesNotContain(_changes, c => c.Kind == OwnershipChangeKind.Lost);
        var now = (await _store.ListAsync(CancellationToken.None)).Single();
        Assert.Equal("me", now.Owner);
        Assert.Equal(applied.Counter + 1, now.Counter);
        Assert.Equal("42", now.Checkpoint);
    }

    [Fact]
    public async Task GivenALeaseTakenByAnotherHost_WhenTheNextCycleRenews_ThenTheRecoveryReadDoesNotClaimItBack()
    {
        await SeedAsync(1);
        var coordinator = New();
        await coordinator.RunCycleAsync(CancellationToken.None);
        var mine = (await _store.ListAsync(CancellationToken.None)).Single();
        Assert.NotNull(await _store.TryTakeAsync(mine, "thief", CancellationToken.None));

        await coordinator.RunCycleAsync(CancellationToken.None);

        Assert.Empty(coordinator.OwnedShards);
        Assert.Contains(_changes, c => c.Kind == OwnershipChangeKind.Lost && c.ShardId == "s0");
        Assert.Equal("thief", (await _store.ListAsync(CancellationToken.None)).Single().Owner);
    }

    [Fact]
    public async Task GivenAStolenLease_WhenTheOwnerCheckpoints_ThenItIsToldNoAndTheShardIsReportedLost()
    {
        await SeedAsync(1);
        var coordinator = New();
        await coordinator.RunCycleAsync(CancellationToken.None);
        Assert.True(await coordinator.CheckpointAsync("s0", "10", CancellationToken.None));

        var current = (await _store.ListAsync(CancellationToken.None)).Single();
        Assert.Equal("10", current.Checkpoint);
        Assert.NotNull(await _store.TryTakeAsync(current, "thief", CancellationToken.None));

        Assert.False(await coordinator.CheckpointAsync("s0", "20", CancellationToken.None));
        Assert.Empty(coordinator.OwnedShards);
        Assert.Equal(OwnershipChangeKind.Lost, _changes[^1].Kind);
        Assert.Equal("10", (await _store.ListAsync(CancellationToken.None)).Single().Checkpoint);
    }

    [Fact]
    public async Task GivenOwnedLeases_WhenRunAsyncStops_ThenEachIsReleasedWithTheFinalCheckpointCallbacksAnswer()
    {
        await SeedAsync(2);
        var coordinator = New();
        using var stop = new CancellationTokenSource();
        var run = coordinator.RunAsync(stop.Token);
        Assert.Equal(["s0", "s1"], coordinator.OwnedShards);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        var leases = await _store.ListAsync(CancellationToken.None);
        Assert.All(leases, l => Assert.Null(l.Owner));
        Assert.Equal(["55", Checkpoints.TrimHorizon], leases.Select(l => l.Checkpoint));
        Assert.Equal(2, _changes.Count(c => c.Kind == OwnershipChangeKind.Released));
        Assert.Empty(_errors);
    }

    [Fact]
    public async Task GivenAFinishedOwnedShard_WhenTheNextCycleRuns_ThenItIsReleasedAndItsChildTaken()
    {
        await _store.CreateIfMissingAsync([new NewLease("p", [], Checkpoints.TrimHorizon), new NewLease("c", ["p"], Checkpoints.TrimHorizon)], CancellationToken.None);
        var coordinator = New();
        await coordinator.RunCycleAsync(CancellationToken.None);
        Assert.Equal(["p"], coordinator.OwnedShards);

        Assert.True(await coordinator.CheckpointAsync("p", Checkpoints.ShardEnd, CancellationToken.None));
        await coordinator.RunCycleAsync(CancellationToken.None);

        Assert.Equal(["c"], coordinator.OwnedShards);
        Assert.Null((await _store.ListAsync(CancellationToken.None)).Single(l => l.LeaseKey == "p").Owner);
    }
}
