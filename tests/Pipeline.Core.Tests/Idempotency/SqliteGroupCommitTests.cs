using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Pipeline.Core.Idempotency;

namespace Pipeline.Core.Tests.Idempotency;

/// <summary>
/// Group commit in <see cref="SqliteIdempotencyStore"/>: operations queued while the writer is busy run together in
/// its next transaction. A <see cref="WriterGate"/> holds the writer at the start of each group, so the tests decide
/// exactly what is queued behind it.
/// </summary>
public sealed class SqliteGroupCommitTests : IAsyncLifetime
{
    private const string Alice = "host-a/100/1";
    private const string Bob = "host-b/200/2";
    private const string Carol = "host-c/300/3";
    private const string Dave = "host-d/400/4";
    private const string Gone = "host-x/900/9";

    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Expiry = Now.AddMinutes(5);

    /// <summary>How long a test waits for something that should happen at once before it calls the code broken.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pipeline-group-commit-tests", Guid.NewGuid().ToString("N"));
    private readonly List<SqliteIdempotencyStore> _opened = [];

    private static CancellationToken Ct => CancellationToken.None;

    private string DatabasePath => Path.Combine(_folder, "idempotency.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task GivenMixedCallsQueuedBehindTheWriter_WhenTheyRunAsOneGroup_ThenEachGetsTheResultOfRunningAloneInArrivalOrder()
    {
        var store = Open();
        var reference = new InMemoryIdempotencyStore();
        foreach (var target in new IIdempotencyStore[] { store, reference })
        {
            await Setup(target);
        }

        using var gate = new WriterGate(store);
        var lead = Task.Run(() => store.TryClaimAsync([Request("lead", Alice)], Now, Ct).AsTask());
        await gate.WaitForGroupAsync();

        // Queued one after another while the writer is held; each call queues before it returns its pending task.
        var calls = Calls();
        var pending = calls.Select(call => call(store)).ToArray();
        Assert.All(pending, task => Assert.False(task.IsCompleted));
        gate.Open();

        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await lead).Status);
        var results = await Task.WhenAll(pending);
        Assert.Equal([1, calls.Length], gate.Sizes);

        await reference.TryClaimAsync([Request("lead", Alice)], Now, Ct);
        for (var i = 0; i < calls.Length; i++)
        {
            var expected = await calls[i](reference);
            Assert.Equal(Describe(expected), Describe(results[i]));
        }

        foreach (var key in new[] { "lead", "new-1", "new-2", "x", "live", "done", "failed", "gone" })
        {
            Assert.Equal(await reference.GetAsync(key, Ct), await store.GetAsync(key, Ct));
        }

        static async Task Setup(IIdempotencyStore target)
        {
            await target.TryClaimAsync(
                [Request("done", Alice), Request("failed", Alice), Request("live", Bob), Request("gone", Gone)], Now, Ct);
            await target.FinishAsync(
                [
                    new ClaimFinish("done", Alice, FinishKind.Complete, ResultLocation: "s3://out/done.png"),
                    new ClaimFinish("failed", Alice, FinishKind.FailPermanently, FailureReason: "bad input"),
                ],
                Now,
                Ct);
        }
    }

    [Fact]
    public async Task GivenManyCallersAtOnce_WhenEachClaimsAndFinishesItsKeys_ThenEveryCallerGetsItsOwnOutcomes()
    {
        const int Callers = 16;
        const int Rounds = 25;
        const int KeysPerBatch = 10;
        var store = Open();
        var sizes = new ConcurrentQueue<int>();
        store.GroupStarting = sizes.Enqueue;

        using var go = new ManualResetEventSlim(initialState: false);
        var runs = Enumerable.Range(0, Callers)
            .Select(caller => Task.Factory.StartNew(
                () =>
                {
                    go.Wait();
                    return RunCallerAsync(store, caller);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap())
            .ToArray();
        go.Set();
        var contested = (await Task.WhenAll(runs)).SelectMany(won => won).GroupBy(won => won.Round).ToList();

        // A claim, a finish and a read per caller and round, each in some group.
        Assert.Equal(Callers * Rounds * 3, sizes.Sum());

        // Every round's shared key has exactly one winner, and the record says so.
        Assert.Equal(Rounds, contested.Count);
        foreach (var round in contested)
        {
            var winner = Assert.Single(round, won => won.Won);
            Assert.Equal(
                new IdempotencyRecord($"shared-{round.Key}", IdempotencyStatus.Completed, null, null, $"m-{winner.Caller}", $"s3://out/{winner.Caller}", null),
                await store.GetAsync($"shared-{round.Key}", Ct));
        }

        static async Task<List<(int Round, int Caller, bool Won)>> RunCallerAsync(SqliteIdempotencyStore store, int caller)
        {
            var owner = $"host-{caller}/1/1";
            var contested = new List<(int Round, int Caller, bool Won)>();
            for (var round = 0; round < Rounds; round++)
            {
                var keys = Enumerable.Range(0, KeysPerBatch).Select(i => $"own-{caller}-{round}-{i}").Append($"shared-{round}").ToArray();
                var outcomes = await store.TryClaimAsync([.. keys.Select(key => new ClaimRequest(key, owner, Expiry, $"m-{caller}"))], Now, Ct);

                Assert.All(outcomes.Take(KeysPerBatch), outcome => Assert.Equal(ClaimOutcome.Won, outcome));
                var shared = outcomes[KeysPerBatch];
                if (shared.Status != ClaimStatus.Claimed)
                {
                    // Lost to another caller, who may have completed it already.
                    Assert.Contains(shared.Status, new[] { ClaimStatus.InProgressElsewhere, ClaimStatus.AlreadyCompleted });
                    Assert.NotEqual($"m-{caller}", shared.Existing?.MessageId);
                }

                contested.Add((round, caller, shared.Status == ClaimStatus.Claimed));
                var won = shared.Status == ClaimStatus.Claimed ? keys : keys[..KeysPerBatch];
                await store.FinishAsync([.. won.Select(key => new ClaimFinish(key, owner, FinishKind.Complete, ResultLocation: $"s3://out/{caller}"))], Now, Ct);
                Assert.Equal(IdempotencyStatus.Completed, (await store.GetAsync(keys[0], Ct))?.Status);
            }

            return contested;
        }
    }

    [Fact]
    public async Task GivenAGroupWhoseTransactionFails_WhenItRuns_ThenEveryCallerInItGetsTheErrorAndNoneOfItsWritesStays()
    {
        var store = Open();
        await store.TryClaimAsync([Request("a", Alice)], Now, Ct);
        await using (var other = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            // Another connection makes claims of "poison" fail inside the transaction, after earlier writes in it.
            await other.OpenAsync();
            await using var command = other.CreateCommand();
            command.CommandText = "CREATE TRIGGER poison BEFORE INSERT ON idempotency WHEN NEW.key = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned key'); END;";
            await command.ExecuteNonQueryAsync();
        }

        using var gate = new WriterGate(store);
        var lead = Task.Run(() => store.TryClaimAsync([Request("lead", Alice)], Now, Ct).AsTask());
        await gate.WaitForGroupAsync();
        var before = store.TryClaimAsync([Request("b-1", Bob), Request("b-2", Bob)], Now, Ct).AsTask();
        var poisoned = store.TryClaimAsync([Request("c-1", Carol), Request("poison", Carol)], Now, Ct).AsTask();
        var after = store.FinishAsync([new ClaimFinish("a", Alice, FinishKind.Complete)], Now, Ct).AsTask();
        gate.Open();

        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await lead).Status);
        var error = await Assert.ThrowsAsync<SqliteException>(() => poisoned);
        Assert.Contains("poisoned key", error.Message, StringComparison.Ordinal);
        Assert.Same(error, await Assert.ThrowsAsync<SqliteException>(() => before));
        Assert.Same(error, await Assert.ThrowsAsync<SqliteException>(() => after));
        Assert.Equal([1, 3], gate.Sizes);

        // The whole group rolled back: nothing of b, c or the finish of "a", while the earlier group stands.
        Assert.Null(await store.GetAsync("b-1", Ct));
        Assert.Null(await store.GetAsync("c-1", Ct));
        Assert.Equal(IdempotencyStatus.InProgress, (await store.GetAsync("a", Ct))?.Status);
        Assert.Equal(IdempotencyStatus.InProgress, (await store.GetAsync("lead", Ct))?.Status);

        // And the store goes on.
        Assert.Equal(ClaimOutcome.Won, Assert.Single(await store.TryClaimAsync([Request("b-1", Bob)], Now, Ct)));
    }

    [Fact]
    public async Task GivenCallersQueuedBehindAGroup_WhenDisposed_ThenTheyGetObjectDisposedAndTheGroupInFlightCompletes()
    {
        var store = Open();
        using var gate = new WriterGate(store);
        var lead = Task.Run(() => store.TryClaimAsync([Request("lead", Alice)], Now, Ct).AsTask());
        await gate.WaitForGroupAsync();
        var queuedClaim = store.TryClaimAsync([Request("queued", Bob)], Now, Ct).AsTask();
        var queuedRead = store.GetAsync("lead", Ct).AsTask();

        // Dispose fails the queued calls at once, then waits for the group that holds the connection.
        var disposing = Task.Run(store.Dispose);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queuedClaim.WaitAsync(Patience));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queuedRead.WaitAsync(Patience));
        Assert.False(disposing.IsCompleted);
        gate.Open();

        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await lead).Status);
        await disposing;
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.TryClaimAsync([Request("later", Bob)], Now, Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.FinishAsync([new ClaimFinish("lead", Alice, FinishKind.Complete)], Now, Ct));

        using var reopened = new SqliteIdempotencyStore(DatabasePath);
        Assert.Equal(Alice, (await reopened.GetAsync("lead", Ct))?.Owner);
        Assert.Null(await reopened.GetAsync("queued", Ct));
    }

    [Fact]
    public async Task GivenACallerQueuedBehindAGroup_WhenCancelled_ThenItGetsOperationCanceledAndItsWriteIsLeftOut()
    {
        var store = Open();
        using var gate = new WriterGate(store);
        using var cancel = new CancellationTokenSource();
        var lead = Task.Run(() => store.TryClaimAsync([Request("lead", Alice)], Now, Ct).AsTask());
        await gate.WaitForGroupAsync();
        var cancelled = store.TryClaimAsync([Request("cancelled", Bob)], Now, cancel.Token).AsTask();
        var kept = store.TryClaimAsync([Request("kept", Carol)], Now, Ct).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Patience));
        gate.Open();

        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await lead).Status);
        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await kept).Status);
        Assert.Equal([1, 1], gate.Sizes);
        Assert.Null(await store.GetAsync("cancelled", Ct));
    }

    [Fact]
    public async Task GivenCallersTakenIntoAGroup_WhenCancelledWhileItRuns_ThenTheyStillGetTheirResults()
    {
        var store = Open();
        using var gate = new WriterGate(store);
        using var cancel = new CancellationTokenSource();
        var lead = Task.Run(() => store.TryClaimAsync([Request("lead", Alice)], Now, cancel.Token).AsTask());
        await gate.WaitForGroupAsync();
        var queued = store.TryClaimAsync([Request("queued", Bob)], Now, cancel.Token).AsTask();
        gate.LetOneGo();

        // The second group has taken the queued call; cancelling now changes nothing for either caller.
        await gate.WaitForGroupAsync();
        await cancel.CancelAsync();
        gate.Open();

        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await lead).Status);
        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await queued).Status);
        Assert.Equal(Bob, (await store.GetAsync("queued", Ct))?.Owner);
    }

    [Fact]
    public async Task GivenACancelledToken_WhenCalling_ThenOperationCanceledAndNothingWritten()
    {
        var store = Open();
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.TryClaimAsync([Request("k", Alice)], Now, cancel.Token));

        Assert.Null(await store.GetAsync("k", Ct));
    }

    [Fact]
    public async Task GivenAMalformedRequest_WhenQueuedWithOthers_ThenOnlyItsCallerFails()
    {
        var store = Open();
        using var gate = new WriterGate(store);
        var lead = Task.Run(() => store.TryClaimAsync([Request("lead", Alice)], Now, Ct).AsTask());
        await gate.WaitForGroupAsync();
        var good = store.TryClaimAsync([Request("good", Bob)], Now, Ct).AsTask();

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.TryClaimAsync([Request("bad", Carol), null!], Now, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.FinishAsync([new ClaimFinish(null!, Carol, FinishKind.Complete)], Now, Ct));
        gate.Open();

        await lead;
        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await good).Status);
        Assert.Null(await store.GetAsync("bad", Ct));
    }

    private static ClaimRequest Request(string key, string owner, string messageId = "m-1") => new(key, owner, Expiry, messageId);

    /// <summary>Calls queued in this order into one group; each is run the same way against the reference store.</summary>
    private static Func<IIdempotencyStore, Task<object?>>[] Calls() =>
    [
        // A claim of new, live, completed and failed keys, and of "x".
        async s => await s.TryClaimAsync([Request("new-1", Carol), Request("live", Carol), Request("done", Carol), Request("failed", Carol), Request("x", Carol)], Now, Ct),

        // "x" was claimed by Carol earlier in the same transaction: Dave sees her record.
        async s => await s.TryClaimAsync([Request("x", Dave, "m-2"), Request("new-2", Dave)], Now, Ct),
        async s =>
        {
            await s.FinishAsync([new ClaimFinish("new-1", Carol, FinishKind.Complete, ResultLocation: "s3://out/1.png"), new ClaimFinish("x", Carol, FinishKind.Release)], Now, Ct);
            return null;
        },

        // Released just before: Dave wins it now.
        async s => await s.TryClaimAsync([Request("x", Dave, "m-2")], Now, Ct),
        async s => await s.RenewAsync(["live", "new-1", "x"], Bob, Expiry.AddMinutes(5), Ct),
        async s => await s.GetAsync("new-1", Ct),
        async s => await s.TryTakeOverAsync(Request("gone", Dave), Gone, Ct),
        async s => await s.ClearFailureAsync("failed", Ct),
        async s => await s.TryClaimAsync([Request("failed", Carol)], Now, Ct),
        async s => await s.GetAsync("missing", Ct),
    ];

    private static string Describe(object? result) => result switch
    {
        IReadOnlyList<ClaimOutcome> outcomes => string.Join("; ", outcomes),
        _ => result?.ToString() ?? "null",
    };

    private SqliteIdempotencyStore Open()
    {
        var store = new SqliteIdempotencyStore(DatabasePath);
        _opened.Add(store);
        return store;
    }

    /// <summary>Holds the writer of a store at the start of each group until the test lets it go.</summary>
    private sealed class WriterGate : IDisposable
    {
        private readonly SemaphoreSlim _started = new(0);
        private readonly SemaphoreSlim _proceed = new(0);
        private readonly ConcurrentQueue<int> _sizes = new();
        private volatile bool _open;

        public WriterGate(SqliteIdempotencyStore store) => store.GroupStarting = OnGroupStarting;

        /// <summary>The number of operations in each group, in order.</summary>
        public int[] Sizes => [.. _sizes];

        /// <summary>Waits until the writer holds the next group (its operations taken from the queue).</summary>
        public async Task WaitForGroupAsync() => Assert.True(await _started.WaitAsync(Patience), "the writer never started a group");

        public void LetOneGo() => _proceed.Release();

        /// <summary>Lets the held group and every later one run.</summary>
        public void Open()
        {
            _open = true;
            _proceed.Release(1_000);
        }

        // The semaphores have no wait handles to free; leaving them undisposed spares a late group an ObjectDisposedException.
        public void Dispose() => Open();

        private void OnGroupStarting(int size)
        {
            _sizes.Enqueue(size);
            if (_open)
            {
                return;
            }

            _started.Release();
            if (!_proceed.Wait(Patience))
            {
                throw new TimeoutException("the test never let the group go");
            }
        }
    }
}
