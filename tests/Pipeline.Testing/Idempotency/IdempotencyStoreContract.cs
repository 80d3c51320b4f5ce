using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Idempotency;
using Xunit;

namespace Pipeline.Testing.Idempotency;

/// <summary>
/// The behaviour every <see cref="IIdempotencyStore"/> must show; each store gets a subclass that runs this suite
/// (the in-memory and SQLite stores in Pipeline.Core.Tests, which compiles this file in, and the DynamoDB store on
/// each emulator in Pipeline.Aws.Tests).
/// </summary>
public abstract class IdempotencyStoreContract : IAsyncLifetime
{
    private const string Alice = "host-a/100/1";
    private const string Bob = "host-b/200/2";
    private const string Carol = "host-c/300/3";
    private const string Key = "job-1";

    private static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    private readonly FakeTimeProvider _time = new(Start);
    private IIdempotencyStore? _store;

    protected IIdempotencyStore Store => _store ??= CreateStore();

    private DateTimeOffset Now => _time.GetUtcNow();

    private static CancellationToken Ct => CancellationToken.None;

    /// <summary>
    /// How often the race test repeats. A round of a fast store is over in microseconds, so it takes many rounds to
    /// give unsynchronised code a fair chance to be caught.
    /// </summary>
    protected virtual int RaceRounds => 20;

    /// <summary>A fresh, empty store.</summary>
    protected abstract IIdempotencyStore CreateStore();

    /// <summary>
    /// A second instance over the data of <see cref="Store"/>, as a second process would open it. A store whose data
    /// lives in the instance answers with that same instance.
    /// </summary>
    protected abstract IIdempotencyStore OpenAnotherInstance();

    /// <summary>Runs before each test; a store that needs a resource first (a table) creates it here.</summary>
    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task GivenNoRecord_WhenClaiming_ThenClaimedAndRecordIsInProgressForOwner()
    {
        var outcome = await ClaimAsync(Key, Alice);

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Null(outcome.Existing);
        Assert.Equal(
            new IdempotencyRecord(Key, IdempotencyStatus.InProgress, Alice, Start + Lease, "m-1", null, null),
            await Store.GetAsync(Key, Ct));
    }

    [Fact]
    public async Task GivenNoRecord_WhenGetting_ThenNull()
    {
        Assert.Null(await Store.GetAsync("never-claimed", Ct));
    }

    [Fact]
    public async Task GivenEmptyBatch_WhenClaiming_ThenNoOutcomes()
    {
        var outcomes = await Store.TryClaimAsync([], Now, Ct);

        Assert.Empty(outcomes);
    }

    [Fact]
    public async Task GivenLiveClaim_WhenAnotherOwnerClaims_ThenInProgressElsewhereWithOwnerAndExpiry()
    {
        await ClaimAsync(Key, Alice);
        _time.Advance(TimeSpan.FromMinutes(1));

        var outcome = await ClaimAsync(Key, Bob, "m-2");

        Assert.Equal(ClaimStatus.InProgressElsewhere, outcome.Status);
        Assert.NotNull(outcome.Existing);
        Assert.Equal(Alice, outcome.Existing.Owner);
        Assert.Equal(Start + Lease, outcome.Existing.Expiry);
        Assert.Equal(Alice, (await Store.GetAsync(Key, Ct))?.Owner);
    }

    [Fact]
    public async Task GivenClaimExpiringExactlyNow_WhenAnotherOwnerClaims_ThenStillInProgressElsewhere()
    {
        await ClaimAsync(Key, Alice);
        _time.Advance(Lease);

        var outcome = await ClaimAsync(Key, Bob, "m-2");

        Assert.Equal(ClaimStatus.InProgressElsewhere, outcome.Status);
    }

    [Fact]
    public async Task GivenExpiredClaim_WhenAnotherOwnerClaims_ThenClaimedAndOwnerChanges()
    {
        await ClaimAsync(Key, Alice);
        _time.Advance(Lease + TimeSpan.FromMilliseconds(1));

        var outcome = await ClaimAsync(Key, Bob, "m-2");

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal(
            new IdempotencyRecord(Key, IdempotencyStatus.InProgress, Bob, Now + Lease, "m-2", null, null),
            await Store.GetAsync(Key, Ct));
    }

    [Fact]
    public async Task GivenCompleted_WhenClaimingLongAfter_ThenAlreadyCompletedWithResultLocation()
    {
        await ClaimAsync(Key, Alice);
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.Complete, ResultLocation: "s3://out/job-1.png"));
        _time.Advance(TimeSpan.FromDays(1));

        var outcome = await ClaimAsync(Key, Bob, "m-2");

        Assert.Equal(ClaimStatus.AlreadyCompleted, outcome.Status);
        Assert.Equal(
            new IdempotencyRecord(Key, IdempotencyStatus.Completed, null, null, "m-1", "s3://out/job-1.png", null),
            outcome.Existing);
    }

    [Fact]
    public async Task GivenFailedPermanently_WhenSameMessageClaims_ThenFailedPermanentWithReason()
    {
        await ClaimAsync(Key, Alice, "m-1");
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.FailPermanently, FailureReason: "not an image"));
        _time.Advance(TimeSpan.FromHours(1));

        var outcome = await ClaimAsync(Key, Bob, "m-1");

        Assert.Equal(ClaimStatus.FailedPermanent, outcome.Status);
        Assert.Equal(
            new IdempotencyRecord(Key, IdempotencyStatus.FailedPermanent, null, null, "m-1", null, "not an image"),
            outcome.Existing);
    }

    [Fact]
    public async Task GivenFailedPermanently_WhenDifferentMessageClaims_ThenClaimedFresh()
    {
        await ClaimAsync(Key, Alice, "m-1");
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.FailPermanently, FailureReason: "not an image"));

        var outcome = await ClaimAsync(Key, Bob, "m-redriven");

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal(
            new IdempotencyRecord(Key, IdempotencyStatus.InProgress, Bob, Now + Lease, "m-redriven", null, null),
            await Store.GetAsync(Key, Ct));
    }

    [Fact]
    public async Task GivenReleased_WhenClaimingBeforeTheOldExpiry_ThenClaimed()
    {
        await ClaimAsync(Key, Alice);
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.Release));
        Assert.Null(await Store.GetAsync(Key, Ct));

        var outcome = await ClaimAsync(Key, Bob, "m-1");

        Assert.Equal(ClaimStatus.Claimed, outcome.Status);
        Assert.Equal(Bob, (await Store.GetAsync(Key, Ct))?.Owner);
    }

    [Theory]
    [InlineData(FinishKind.Complete)]
    [InlineData(FinishKind.FailPermanently)]
    [InlineData(FinishKind.Release)]
    public async Task GivenClaimOfAnotherOwner_WhenNonOwnerFinishes_ThenIgnored(FinishKind kind)
    {
        await ClaimAsync(Key, Alice);
        var before = await Store.GetAsync(Key, Ct);

        await FinishAsync(new ClaimFinish(Key, Bob, kind, "s3://out/x.png", "boom"));

        Assert.Equal(before, await Store.GetAsync(Key, Ct));
    }

    [Theory]
    [InlineData(FinishKind.Complete)]
    [InlineData(FinishKind.FailPermanently)]
    [InlineData(FinishKind.Release)]
    public async Task GivenClaimLostAfterExpiry_WhenFormerOwnerFinishes_ThenNewOwnersClaimStands(FinishKind kind)
    {
        await ClaimAsync(Key, Alice, "m-1");
        _time.Advance(Lease + TimeSpan.FromSeconds(1));
        await ClaimAsync(Key, Bob, "m-2");
        var bobsClaim = await Store.GetAsync(Key, Ct);

        await FinishAsync(new ClaimFinish(Key, Alice, kind, "s3://out/x.png", "boom"));

        Assert.Equal(bobsClaim, await Store.GetAsync(Key, Ct));
    }

    [Theory]
    [InlineData(FinishKind.Complete)]
    [InlineData(FinishKind.FailPermanently)]
    [InlineData(FinishKind.Release)]
    public async Task GivenCompleted_WhenOwnerFinishesAgain_ThenStaysCompleted(FinishKind kind)
    {
        await ClaimAsync(Key, Alice);
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.Complete, ResultLocation: "s3://out/job-1.png"));

        await FinishAsync(new ClaimFinish(Key, Alice, kind, "s3://out/other.png", "boom"));

        var record = await Store.GetAsync(Key, Ct);
        Assert.Equal(IdempotencyStatus.Completed, record?.Status);
        Assert.Equal("s3://out/job-1.png", record?.ResultLocation);
    }

    [Fact]
    public async Task GivenBatchOfFinishes_WhenFinishing_ThenEachAppliesToItsOwnKey()
    {
        await Store.TryClaimAsync([Request("a", Alice), Request("b", Alice), Request("c", Alice)], Now, Ct);

        await FinishAsync(
            new ClaimFinish("a", Alice, FinishKind.Complete, ResultLocation: "s3://out/a.png"),
            new ClaimFinish("b", Alice, FinishKind.FailPermanently, FailureReason: "corrupt"),
            new ClaimFinish("c", Alice, FinishKind.Release));

        Assert.Equal(IdempotencyStatus.Completed, (await Store.GetAsync("a", Ct))?.Status);
        Assert.Equal("corrupt", (await Store.GetAsync("b", Ct))?.FailureReason);
        Assert.Null(await Store.GetAsync("c", Ct));
    }

    [Fact]
    public async Task GivenOwnForeignCompletedAndMissingKeys_WhenRenewing_ThenOnlyOwnInProgressClaimIsExtended()
    {
        await ClaimAsync("own", Alice);
        await ClaimAsync("foreign", Bob);
        await ClaimAsync("done", Alice);
        await FinishAsync(new ClaimFinish("done", Alice, FinishKind.Complete, ResultLocation: "s3://out/done.png"));
        var extended = Start + TimeSpan.FromMinutes(30);

        var renewed = await Store.RenewAsync(["own", "foreign", "done", "missing"], Alice, extended, Ct);

        Assert.Equal(1, renewed);
        Assert.Equal(extended, (await Store.GetAsync("own", Ct))?.Expiry);
        Assert.Equal(Start + Lease, (await Store.GetAsync("foreign", Ct))?.Expiry);
        var done = await Store.GetAsync("done", Ct);
        Assert.Equal(IdempotencyStatus.Completed, done?.Status);
        Assert.Null(done?.Expiry);
        Assert.Null(await Store.GetAsync("missing", Ct));
    }

    [Fact]
    public async Task GivenRenewedClaim_WhenAnotherOwnerClaimsAfterTheOldExpiry_ThenStillInProgressElsewhere()
    {
        await ClaimAsync(Key, Alice);
        await Store.RenewAsync([Key], Alice, Start + TimeSpan.FromMinutes(30), Ct);
        _time.Advance(Lease + TimeSpan.FromMinutes(1));

        var outcome = await ClaimAsync(Key, Bob, "m-2");

        Assert.Equal(ClaimStatus.InProgressElsewhere, outcome.Status);
    }

    [Fact]
    public async Task GivenClaimHeldByPreviousOwner_WhenTakingOver_ThenNewOwnerHoldsItAndOldFinishIsIgnored()
    {
        await ClaimAsync(Key, Alice, "m-1");

        var taken = await Store.TryTakeOverAsync(new ClaimRequest(Key, Bob, Now + Lease, "m-2"), Alice, Ct);
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.Complete, ResultLocation: "s3://out/late.png"));

        Assert.True(taken);
        Assert.Equal(
            new IdempotencyRecord(Key, IdempotencyStatus.InProgress, Bob, Now + Lease, "m-2", null, null),
            await Store.GetAsync(Key, Ct));
    }

    [Fact]
    public async Task GivenClaimHeldBySomeoneElse_WhenTakingOver_ThenRefusedAndUnchanged()
    {
        await ClaimAsync(Key, Alice);
        var before = await Store.GetAsync(Key, Ct);

        var taken = await Store.TryTakeOverAsync(new ClaimRequest(Key, Carol, Now + Lease, "m-3"), Bob, Ct);

        Assert.False(taken);
        Assert.Equal(before, await Store.GetAsync(Key, Ct));
    }

    [Fact]
    public async Task GivenCompletedOrMissingKey_WhenTakingOver_ThenRefusedAndNothingCreated()
    {
        await ClaimAsync("done", Alice);
        await FinishAsync(new ClaimFinish("done", Alice, FinishKind.Complete, ResultLocation: "s3://out/done.png"));

        var tookDone = await Store.TryTakeOverAsync(new ClaimRequest("done", Bob, Now + Lease, "m-2"), Alice, Ct);
        var tookMissing = await Store.TryTakeOverAsync(new ClaimRequest("missing", Bob, Now + Lease, "m-2"), Alice, Ct);

        Assert.False(tookDone);
        Assert.False(tookMissing);
        Assert.Equal(IdempotencyStatus.Completed, (await Store.GetAsync("done", Ct))?.Status);
        Assert.Null(await Store.GetAsync("missing", Ct));
    }

    [Fact]
    public async Task GivenPermanentFailure_WhenClearing_ThenDeletedAndSameMessageCanClaim()
    {
        await ClaimAsync(Key, Alice, "m-1");
        await FinishAsync(new ClaimFinish(Key, Alice, FinishKind.FailPermanently, FailureReason: "not an image"));

        var cleared = await Store.ClearFailureAsync(Key, Ct);

        Assert.True(cleared);
        Assert.Null(await Store.GetAsync(Key, Ct));
        Assert.Equal(ClaimStatus.Claimed, (await ClaimAsync(Key, Bob, "m-1")).Status);
    }

    [Fact]
    public async Task GivenCompletedInProgressOrMissing_WhenClearingFailure_ThenFalseAndUnchanged()
    {
        await ClaimAsync("done", Alice);
        await FinishAsync(new ClaimFinish("done", Alice, FinishKind.Complete, ResultLocation: "s3://out/done.png"));
        await ClaimAsync("running", Alice);

        Assert.False(await Store.ClearFailureAsync("done", Ct));
        Assert.False(await Store.ClearFailureAsync("running", Ct));
        Assert.False(await Store.ClearFailureAsync("missing", Ct));
        Assert.Equal(IdempotencyStatus.Completed, (await Store.GetAsync("done", Ct))?.Status);
        Assert.Equal(IdempotencyStatus.InProgress, (await Store.GetAsync("running", Ct))?.Status);
    }

    [Fact]
    public async Task GivenRecordsInEveryState_WhenClaimingOneBatch_ThenOutcomesComeBackInRequestOrder()
    {
        await ClaimAsync("completed", Alice);
        await FinishAsync(new ClaimFinish("completed", Alice, FinishKind.Complete, ResultLocation: "s3://out/c.png"));
        await ClaimAsync("failed-same", Alice, "m-same");
        await ClaimAsync("failed-other", Alice, "m-old");
        await FinishAsync(
            new ClaimFinish("failed-same", Alice, FinishKind.FailPermanently, FailureReason: "bad"),
            new ClaimFinish("failed-other", Alice, FinishKind.FailPermanently, FailureReason: "bad"));
        await ClaimAsync("live", Bob);
        await Store.TryClaimAsync([new ClaimRequest("expired", Bob, Now + TimeSpan.FromMinutes(1), "m-1")], Now, Ct);
        _time.Advance(TimeSpan.FromMinutes(2));

        var outcomes = await Store.TryClaimAsync(
            [
                Request("new", Carol),
                Request("completed", Carol),
                Request("failed-same", Carol, "m-same"),
                Request("live", Carol),
                Request("expired", Carol),
                Request("failed-other", Carol, "m-new"),
            ],
            Now,
            Ct);

        Assert.Equal(
            [
                ClaimStatus.Claimed,
                ClaimStatus.AlreadyCompleted,
                ClaimStatus.FailedPermanent,
                ClaimStatus.InProgressElsewhere,
                ClaimStatus.Claimed,
                ClaimStatus.Claimed,
            ],
            outcomes.Select(o => o.Status));
        Assert.Equal(
            [null, "completed", "failed-same", "live", null, null],
            outcomes.Select(o => o.Existing?.Key));
        foreach (var key in new[] { "new", "expired", "failed-other" })
        {
            Assert.Equal(Carol, (await Store.GetAsync(key, Ct))?.Owner);
        }
    }

    [Fact]
    public async Task GivenOneJobClaimedUnderTwoSourceIdentities_WhenFindingByJobKey_ThenBothComeBackNewestChangeFirst()
    {
        var lookup = Assert.IsAssignableFrom<IJobRecordLookup>(Store);
        await Store.TryClaimAsync([Request("job-7#s3:old", Alice) with { JobKey = "job-7" }, Request("other#s3:x", Alice) with { JobKey = "other" }], Now, Ct);
        await FinishAsync(new ClaimFinish("job-7#s3:old", Alice, FinishKind.FailPermanently, FailureReason: "not an image"));
        await Store.TryClaimAsync([Request("job-7", Alice)], Now, Ct);
        _time.Advance(TimeSpan.FromSeconds(3));
        await Store.TryClaimAsync([Request("job-7#s3:new", Bob, "m-2") with { JobKey = "job-7" }], Now, Ct);
        _time.Advance(TimeSpan.FromSeconds(4));
        await FinishAsync(new ClaimFinish("job-7#s3:new", Bob, FinishKind.Complete, ResultLocation: "s3://out/7.png"));

        var found = await lookup.FindByJobKeyAsync("job-7", Ct);

        Assert.Equal(["job-7#s3:new", "job-7#s3:old"], found.Select(r => r.Key));
        Assert.Equal((IdempotencyStatus.Completed, "s3://out/7.png", "job-7", Start + TimeSpan.FromSeconds(7)), (found[0].Status, found[0].ResultLocation, found[0].JobKey, found[0].UpdatedAt));
        Assert.Equal((IdempotencyStatus.FailedPermanent, "not an image", "job-7", Start), (found[1].Status, found[1].FailureReason, found[1].JobKey, found[1].UpdatedAt));
        Assert.Empty(await lookup.FindByJobKeyAsync("never-enqueued", Ct));
    }

    [Fact]
    public async Task GivenAPermanentFailureFoundByJobKey_WhenCleared_ThenTheJobHasNoRecordLeft()
    {
        var lookup = Assert.IsAssignableFrom<IJobRecordLookup>(Store);
        await Store.TryClaimAsync([Request("job-9#s3:a", Alice) with { JobKey = "job-9" }], Now, Ct);
        await FinishAsync(new ClaimFinish("job-9#s3:a", Alice, FinishKind.FailPermanently, FailureReason: "corrupt"));
        var failed = Assert.Single(await lookup.FindByJobKeyAsync("job-9", Ct));

        Assert.True(await Store.ClearFailureAsync(failed.Key, Ct));

        Assert.Empty(await lookup.FindByJobKeyAsync("job-9", Ct));
    }

    /// <summary>Virtual only so that a store on an emulator that cannot isolate concurrent writers may skip it, saying why.</summary>
    [Fact]
    public virtual async Task GivenTwoStoreInstances_WhenEightTasksClaimTheSameKeysAtOnce_ThenEachKeyHasExactlyOneWinner()
    {
        const int Tasks = 8;
        const int Keys = 200;
        IIdempotencyStore[] stores = [Store, OpenAnotherInstance()];
        var now = Now;

        for (var round = 0; round < RaceRounds; round++)
        {
            var keys = Enumerable.Range(0, Keys).Select(i => $"race-{round}-{i}").ToArray();
            using var go = new ManualResetEventSlim(initialState: false, spinCount: 1000);
            // Own threads, released together, so the tasks really start at once instead of one after another.
            var runs = Enumerable.Range(0, Tasks)
                .Select(task => Task.Factory.StartNew(
                    () =>
                    {
                        go.Wait();
                        return ClaimAllAsync(stores[task % stores.Length], $"race-host/{1000 + task}/1", keys, batchSize: 1 + (task * 3), now);
                    },
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default).Unwrap())
                .ToArray();
            go.Set();
            var all = (await Task.WhenAll(runs)).SelectMany(seen => seen).ToList();

            Assert.Equal(Tasks * Keys, all.Count);
            foreach (var perKey in all.GroupBy(s => s.Key))
            {
                var winner = Assert.Single(perKey, s => s.Outcome.Status == ClaimStatus.Claimed);
                Assert.All(
                    perKey.Where(s => s.Outcome.Status != ClaimStatus.Claimed),
                    s => Assert.Equal((ClaimStatus.InProgressElsewhere, winner.Owner), (s.Outcome.Status, s.Outcome.Existing?.Owner)));
                Assert.Equal(winner.Owner, (await Store.GetAsync(perKey.Key, Ct))?.Owner);
            }
        }
    }

    /// <summary>Claims every key in order, in batches; all tasks walk the same order so they meet on the same keys.</summary>
    private static async Task<List<(string Key, string Owner, ClaimOutcome Outcome)>> ClaimAllAsync(
        IIdempotencyStore store, string owner, string[] keys, int batchSize, DateTimeOffset now)
    {
        var seen = new List<(string Key, string Owner, ClaimOutcome Outcome)>(keys.Length);
        for (var first = 0; first < keys.Length; first += batchSize)
        {
            var batch = keys.Skip(first).Take(batchSize).Select(key => new ClaimRequest(key, owner, now + Lease, "m-" + owner)).ToArray();
            var outcomes = await store.TryClaimAsync(batch, now, Ct);
            for (var j = 0; j < batch.Length; j++)
            {
                seen.Add((batch[j].Key, owner, outcomes[j]));
            }
        }

        return seen;
    }

    private ClaimRequest Request(string key, string owner, string messageId = "m-1") => new(key, owner, Now + Lease, messageId);

    private async Task<ClaimOutcome> ClaimAsync(string key, string owner, string messageId = "m-1")
    {
        var outcomes = await Store.TryClaimAsync([Request(key, owner, messageId)], Now, Ct);
        return Assert.Single(outcomes);
    }

    private async Task FinishAsync(params ClaimFinish[] finishes) => await Store.FinishAsync(finishes, Now, Ct);
}
