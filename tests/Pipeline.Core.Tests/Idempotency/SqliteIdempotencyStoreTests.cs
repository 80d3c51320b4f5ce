using Pipeline.Core.Idempotency;
using Pipeline.Testing.Idempotency;

namespace Pipeline.Core.Tests.Idempotency;

public sealed class SqliteIdempotencyStoreTests : IdempotencyStoreContract
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pipeline-idempotency-tests", Guid.NewGuid().ToString("N"));
    private readonly List<SqliteIdempotencyStore> _opened = [];

    private string DatabasePath => Path.Combine(_folder, "idempotency.db");

    // SQLite's own write lock makes each claim atomic; a few rounds prove the two connections share it, and each
    // round costs hundreds of transactions that wait on one another.
    protected override int RaceRounds => 5;

    protected override IIdempotencyStore CreateStore() => Open();

    protected override IIdempotencyStore OpenAnotherInstance() => Open();

    public override async Task DisposeAsync()
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
    public async Task GivenAFileMadeBeforeJobKeysWereKept_WhenOpened_ThenOldRecordsStayAndNewClaimsAreFoundByJobKey()
    {
        Directory.CreateDirectory(_folder);
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE idempotency (key TEXT PRIMARY KEY NOT NULL, status INTEGER NOT NULL, owner TEXT, expiry INTEGER,
                    message_id TEXT, result TEXT, reason TEXT, updated INTEGER) WITHOUT ROWID;
                INSERT INTO idempotency VALUES ('old-job#1-2', 2, NULL, NULL, 'm-0', 'out/old.png', NULL, 1);
                """;
            await create.ExecuteNonQueryAsync();
        }

        var store = Open();
        await store.TryClaimAsync([new ClaimRequest("new-job#1-2", "host/1/1", Now.AddMinutes(5), "m-1") { JobKey = "new-job" }], Now, CancellationToken.None);

        Assert.Equal(("out/old.png", (string?)null), ((await store.GetAsync("old-job#1-2", CancellationToken.None))?.ResultLocation, (await store.GetAsync("old-job#1-2", CancellationToken.None))?.JobKey));
        var found = Assert.Single(await store.FindByJobKeyAsync("new-job", CancellationToken.None));
        Assert.Equal(("new-job#1-2", IdempotencyStatus.InProgress, (DateTimeOffset?)Now), (found.Key, found.Status, found.UpdatedAt));
        Assert.Empty(await store.FindByJobKeyAsync("old-job", CancellationToken.None));
    }

    [Fact]
    public async Task GivenMissingFolder_WhenOpening_ThenCreatesTheDatabaseFileAndSchema()
    {
        Assert.False(Directory.Exists(_folder));

        var store = Open();

        Assert.True(File.Exists(DatabasePath));
        Assert.Equal(DatabasePath, store.DatabasePath);
        Assert.Null(await store.GetAsync("anything", CancellationToken.None));
    }

    [Fact]
    public async Task GivenRecordsWritten_WhenStoreIsReopened_ThenTheyAreStillThere()
    {
        var first = Open();
        await first.TryClaimAsync(
            [new ClaimRequest("done", "host-a/1/1", Now.AddMinutes(5), "m-1"), new ClaimRequest("running", "host-a/1/1", Now.AddMinutes(5), "m-2")],
            Now,
            CancellationToken.None);
        await first.FinishAsync([new ClaimFinish("done", "host-a/1/1", FinishKind.Complete, ResultLocation: "s3://out/done.png")], Now, CancellationToken.None);
        await first.DisposeAsync();

        var reopened = Open();

        Assert.Equal(
            new IdempotencyRecord("done", IdempotencyStatus.Completed, null, null, "m-1", "s3://out/done.png", null),
            await reopened.GetAsync("done", CancellationToken.None));
        Assert.Equal(
            new IdempotencyRecord("running", IdempotencyStatus.InProgress, "host-a/1/1", Now.AddMinutes(5), "m-2", null, null),
            await reopened.GetAsync("running", CancellationToken.None));
    }

    [Fact]
    public async Task GivenDisposedStore_WhenUsed_ThenObjectDisposedException()
    {
        var store = Open();
        store.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.GetAsync("k", CancellationToken.None));
    }

    private SqliteIdempotencyStore Open()
    {
        var store = new SqliteIdempotencyStore(DatabasePath);
        _opened.Add(store);
        return store;
    }
}
