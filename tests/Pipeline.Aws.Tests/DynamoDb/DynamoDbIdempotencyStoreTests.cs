using System.Globalization;
using System.Threading.Channels;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aws.DynamoDb;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.DynamoDb;

/// <summary>What the DynamoDB store adds to the contract: the item layout and TTL, heartbeat, takeover, errors, transactions.</summary>
public abstract class DynamoDbIdempotencyStoreTests(EmulatorFixture emulator) : IAsyncLifetime
{
    private const string Alice = "host-a/100/1";
    private const string Bob = "host-b/200/2";
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, 250, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly DynamoDbTestKit _kit = new(emulator);
    private readonly FakeTimeProvider _time = new(Start);

    private DateTimeOffset Now => _time.GetUtcNow();

    public async Task InitializeAsync() => await _kit.CreateTableAsync();

    public Task DisposeAsync()
    {
        _kit.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task GivenClaim_WhenReadingTheRawItem_ThenLeaseIsInMillisecondsAndTtlExpirationIsLeasePlusRetentionInSeconds()
    {
        var store = _kit.NewStore(o => o with { CompletedRetention = TimeSpan.FromDays(3) });

        await store.TryClaimAsync([new ClaimRequest("k", Alice, Now + Lease, "m-1")], Now, Ct);

        var item = await RawItemAsync("k");
        Assert.Equal("INPROGRESS", item["status"].S);
        Assert.Equal(Alice, item["owner"].S);
        Assert.Equal((Start + Lease).ToUnixTimeMilliseconds(), long.Parse(item["in_progress_expiration"].N, CultureInfo.InvariantCulture));
        // Start is at .250 s: the lease end rounds up to the next whole second before the retention is added.
        var expected = (Start + Lease).ToUnixTimeSeconds() + 1 + (long)TimeSpan.FromDays(3).TotalSeconds;
        Assert.Equal(expected, long.Parse(item["expiration"].N, CultureInfo.InvariantCulture));
        Assert.Null(item["expiration"].S);
    }

    [Fact]
    public async Task GivenCompletedAndFailedRecords_WhenReadingRawItems_ThenEachExpiresAfterItsOwnRetentionAndHoldsNoLease()
    {
        var store = _kit.NewStore(o => o with { CompletedRetention = TimeSpan.FromDays(2), FailedRetention = TimeSpan.FromDays(9) });
        await store.TryClaimAsync([new ClaimRequest("done", Alice, Now + Lease, "m-1"), new ClaimRequest("bad", Alice, Now + Lease, "m-2")], Now, Ct);
        _time.Advance(TimeSpan.FromMinutes(1));

        await store.FinishAsync(
            [new ClaimFinish("done", Alice, FinishKind.Complete, ResultLocation: "s3://out/done.png"), new ClaimFinish("bad", Alice, FinishKind.FailPermanently, FailureReason: "corrupt")],
            Now,
            Ct);

        var nowSeconds = Now.ToUnixTimeSeconds() + 1;
        var done = await RawItemAsync("done");
        var bad = await RawItemAsync("bad");
        Assert.Equal(("COMPLETED", "s3://out/done.png"), (done["status"].S, done["result_location"].S));
        Assert.Equal(("FAILED_PERMANENT", "corrupt", "m-2"), (bad["status"].S, bad["failure_reason"].S, bad["message_id"].S));
        Assert.Equal(nowSeconds + (long)TimeSpan.FromDays(2).TotalSeconds, long.Parse(done["expiration"].N, CultureInfo.InvariantCulture));
        Assert.Equal(nowSeconds + (long)TimeSpan.FromDays(9).TotalSeconds, long.Parse(bad["expiration"].N, CultureInfo.InvariantCulture));
        Assert.All(new[] { done, bad }, item => Assert.False(item.ContainsKey("owner") || item.ContainsKey("in_progress_expiration")));
    }

    [Fact]
    public async Task GivenRenewedClaim_WhenReadingTheRawItem_ThenLeaseAndTtlExpirationFollowTheNewExpiry()
    {
        var store = _kit.NewStore(o => o with { CompletedRetention = TimeSpan.FromHours(1) });
        await store.TryClaimAsync([new ClaimRequest("k", Alice, Now + Lease, "m-1")], Now, Ct);
        var renewedTo = Start + TimeSpan.FromMinutes(45);

        var renewed = await store.RenewAsync(["k"], Alice, renewedTo, Ct);

        var item = await RawItemAsync("k");
        Assert.Equal(1, renewed);
        Assert.Equal(renewedTo.ToUnixTimeMilliseconds(), long.Parse(item["in_progress_expiration"].N, CultureInfo.InvariantCulture));
        Assert.Equal(renewedTo.ToUnixTimeSeconds() + 1 + 3600, long.Parse(item["expiration"].N, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task GivenCompletedRecordPastItsRetention_WhenClaimingBeforeTtlSweepsIt_ThenClaimedAsIfGone()
    {
        var store = _kit.NewStore(o => o with { CompletedRetention = TimeSpan.FromHours(1) });
        await store.TryClaimAsync([new ClaimRequest("k", Alice, Now + Lease, "m-1")], Now, Ct);
        await store.FinishAsync([new ClaimFinish("k", Alice, FinishKind.Complete, ResultLocation: "s3://out/k.png")], Now, Ct);
        _time.Advance(TimeSpan.FromMinutes(59));
        var within = await store.TryClaimAsync([new ClaimRequest("k", Bob, Now + Lease, "m-2")], Now, Ct);
        _time.Advance(TimeSpan.FromMinutes(2));

        var after = await store.TryClaimAsync([new ClaimRequest("k", Bob, Now + Lease, "m-2")], Now, Ct);

        Assert.Equal(ClaimStatus.AlreadyCompleted, Assert.Single(within).Status);
        Assert.Equal(ClaimStatus.Claimed, Assert.Single(after).Status);
        Assert.Equal(Bob, (await store.GetAsync("k", Ct))?.Owner);
    }

    [Fact]
    public async Task GivenLongJob_WhenTheInvokersHeartbeatRuns_ThenTheClaimIsRenewedInTheTableBeforeItCompletes()
    {
        var store = _kit.NewStore();
        var lease = TimeSpan.FromSeconds(2);
        DateTimeOffset? firstExpiry = null;
        DateTimeOffset? renewedExpiry = null;
        string? key = null;
        var function = new CountingJobFunction(async (_, context, ct) =>
        {
            key = context.IdempotencyKey;
            firstExpiry = (await store.GetAsync(key, ct))?.Expiry;
            await Wait.UntilAsync(
                async () =>
                {
                    renewedExpiry = (await store.GetAsync(key, ct))?.Expiry;
                    return renewedExpiry > firstExpiry;
                },
                "the heartbeat to push the claim's expiry forward",
                TimeSpan.FromSeconds(10));
        });
        var guard = new IdempotencyGuard(store, Alice, new DeadOwners(), TimeProvider.System, lease);
        var options = InvokerOptions.Default with { ClaimLease = lease, HeartbeatInterval = TimeSpan.FromMilliseconds(100) };
        var acknowledger = new KeepingAcknowledger();
        var invoker = new BatchInvoker(function, guard, acknowledger, options, BatchingOptions.ForSqs(), TimeProvider.System, new MappingStatistics(), NullLogger.Instance);
        var record = JobRecords.Job("long-job", "in/long.jpg");

        var batches = Channel.CreateUnbounded<Batch>();
        await batches.Writer.WriteAsync(new Batch(0, [record], 0, BatchCutReason.NoWindow));
        batches.Writer.Complete();

        // RunAsync, not InvokeAsync: the heartbeat belongs to the lane's loop.
        await invoker.RunAsync(batches.Reader, () => false, _ => { }, Ct).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ItemOutcome.Succeeded, Assert.Single(acknowledger.Acknowledged).Outcome);
        Assert.NotNull(firstExpiry);
        Assert.True(renewedExpiry > firstExpiry, $"expiry {firstExpiry} was never renewed");
        Assert.Equal(IdempotencyStatus.Completed, (await store.GetAsync(key!, Ct))?.Status);
    }

    [Fact]
    public async Task GivenClaimOfAnOwnerKnownDead_WhenTheGuardClaims_ThenItTakesTheClaimOverConditionallyOnThatOwner()
    {
        var store = _kit.NewStore();
        await store.TryClaimAsync([new ClaimRequest("k", Alice, Now + Lease, "m-1")], Now, Ct);
        var guard = new IdempotencyGuard(store, Bob, new DeadOwners(Alice), _time, Lease);

        var outcomes = await guard.ClaimAsync([("k", "m-2")], Ct);
        var staleTakeOver = await store.TryTakeOverAsync(new ClaimRequest("k", "host-c/3/3", Now + Lease, "m-3"), Alice, Ct);

        Assert.Equal(ClaimStatus.Claimed, Assert.Single(outcomes).Status);
        Assert.False(staleTakeOver);
        Assert.Equal(
            new IdempotencyRecord("k", IdempotencyStatus.InProgress, Bob, Now + Lease, "m-2", null, null),
            await store.GetAsync("k", Ct));
    }

    [Fact]
    public async Task GivenEmptyOrDuplicateKeys_WhenClaiming_ThenArgumentExceptionAndNothingWritten()
    {
        var store = _kit.NewStore();

        var empty = await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryClaimAsync([new ClaimRequest("", Alice, Now + Lease, "m")], Now, Ct));
        var duplicate = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await store.TryClaimAsync([new ClaimRequest("x", Alice, Now + Lease, "m"), new ClaimRequest("x", Alice, Now + Lease, "m")], Now, Ct));

        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);
        Assert.Contains("'x' appears twice", duplicate.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetAsync("x", Ct));
    }

    [Fact]
    public async Task GivenMissingTable_WhenClaiming_ThenIdempotencyTableMissingExceptionNamesIt()
    {
        var store = new DynamoDbIdempotencyStore(_kit.NewClient(), new DynamoDbIdempotencyStoreOptions { TableName = "no-such-table-" + Guid.NewGuid().ToString("N") });

        var error = await Assert.ThrowsAsync<IdempotencyTableMissingException>(async () => await store.TryClaimAsync([new ClaimRequest("k", Alice, Now + Lease, "m")], Now, Ct));

        Assert.Equal(store.Options.TableName, error.TableName);
        Assert.Contains(store.Options.TableName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenItemThatIsNoIdempotencyRecord_WhenReading_ThenIdempotencyRecordCorruptException()
    {
        var store = _kit.NewStore();
        await _kit.NewClient().PutItemAsync(_kit.TableName, new() { ["id"] = new AttributeValue { S = "odd" }, ["status"] = new AttributeValue { S = "WEIRD" } });

        var error = await Assert.ThrowsAsync<IdempotencyRecordCorruptException>(async () => await store.GetAsync("odd", Ct));

        Assert.Contains("WEIRD", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public virtual async Task GivenTransactions_WhenAFreeBatchIsClaimed_ThenOneTransactWriteItemsAndNoPutItem()
    {
        var store = _kit.NewStore(o => o with { UseTransactions = true });
        var requests = Enumerable.Range(0, 10).Select(i => new ClaimRequest($"t-{i}", Alice, Now + Lease, $"m-{i}")).ToArray();

        var outcomes = await store.TryClaimAsync(requests, Now, Ct);

        Assert.All(outcomes, o => Assert.Equal(ClaimStatus.Claimed, o.Status));
        Assert.Equal((1L, 0L, 0L), (store.Transactions, store.PutItemClaims, store.TransactionFallbacks));
        foreach (var request in requests)
        {
            Assert.Equal(Alice, (await store.GetAsync(request.Key, Ct))?.Owner);
        }
    }

    [Fact]
    public virtual async Task GivenTransactions_WhenSomeKeysOfTheBatchAreTaken_ThenTakenKeysReportTheirHolderAndTheRestAreClaimedOneByOne()
    {
        var bobs = _kit.NewStore();
        await bobs.TryClaimAsync([new ClaimRequest("t-2", Bob, Now + Lease, "m-b"), new ClaimRequest("t-7", Bob, Now + Lease, "m-b")], Now, Ct);
        await bobs.FinishAsync([new ClaimFinish("t-7", Bob, FinishKind.Complete, ResultLocation: "s3://out/7.png")], Now, Ct);
        var store = _kit.NewStore(o => o with { UseTransactions = true });
        var requests = Enumerable.Range(0, 10).Select(i => new ClaimRequest($"t-{i}", Alice, Now + Lease, $"m-{i}")).ToArray();

        var outcomes = await store.TryClaimAsync(requests, Now, Ct);

        var expected = Enumerable.Range(0, 10).Select(i => i switch { 2 => ClaimStatus.InProgressElsewhere, 7 => ClaimStatus.AlreadyCompleted, _ => ClaimStatus.Claimed });
        Assert.Equal(expected, outcomes.Select(o => o.Status));
        Assert.Equal(Bob, outcomes[2].Existing?.Owner);
        Assert.Equal("s3://out/7.png", outcomes[7].Existing?.ResultLocation);
        Assert.Equal((1L, 8L, 8L), (store.Transactions, store.PutItemClaims, store.TransactionFallbacks));
        Assert.Equal(Alice, (await store.GetAsync("t-9", Ct))?.Owner);
    }

    private async Task<Dictionary<string, AttributeValue>> RawItemAsync(string key)
    {
        var response = await _kit.NewClient().GetItemAsync(new GetItemRequest
        {
            TableName = _kit.TableName,
            Key = new() { ["id"] = new AttributeValue { S = key } },
            ConsistentRead = true,
        });
        Assert.NotNull(response.Item);
        return response.Item;
    }

    private sealed class DeadOwners(params string[] dead) : IOwnerLiveness
    {
        public bool IsDefinitelyDead(string owner) => dead.Contains(owner);
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class DynamoDbIdempotencyStoreOnMoto(MotoFixture emulator) : DynamoDbIdempotencyStoreTests(emulator);

[Collection(EmulatorCollections.Dynalite)]
public sealed class DynamoDbIdempotencyStoreOnDynalite(DynaliteFixture emulator) : DynamoDbIdempotencyStoreTests(emulator)
{
    private readonly DynamoDbTestKit _kit = new(emulator);

    [Fact(Skip = "dynalite lacks TransactWriteItems")]
    public override Task GivenTransactions_WhenAFreeBatchIsClaimed_ThenOneTransactWriteItemsAndNoPutItem() => Task.CompletedTask;

    [Fact(Skip = "dynalite lacks TransactWriteItems")]
    public override Task GivenTransactions_WhenSomeKeysOfTheBatchAreTaken_ThenTakenKeysReportTheirHolderAndTheRestAreClaimedOneByOne() => Task.CompletedTask;

    [Fact]
    public async Task GivenTransactionsOnAnEndpointWithoutThem_WhenClaimingABatch_ThenARequestExceptionSaysToTurnThemOff()
    {
        await _kit.CreateTableAsync();
        var store = _kit.NewStore(o => o with { UseTransactions = true });
        var now = DateTimeOffset.UnixEpoch.AddDays(20_000);

        var error = await Assert.ThrowsAsync<IdempotencyStoreRequestException>(async () =>
            await store.TryClaimAsync([new ClaimRequest("a", "o", now.AddMinutes(1), "m"), new ClaimRequest("b", "o", now.AddMinutes(1), "m")], now, CancellationToken.None));

        Assert.Contains("TransactWriteItems", error.Message, StringComparison.Ordinal);
        _kit.Dispose();
    }
}
