using Pipeline.Aws.DynamoDb;
using Pipeline.Core.Idempotency;
using Pipeline.Testing.Emulators;
using Pipeline.Testing.Idempotency;

namespace Pipeline.Aws.Tests.DynamoDb;

/// <summary>The store contract of Pipeline.Core (in-memory, SQLite) on a DynamoDB emulator, one fresh table per test.</summary>
public abstract class DynamoDbIdempotencyStoreContract(EmulatorFixture emulator) : IdempotencyStoreContract
{
    private readonly DynamoDbTestKit _kit = new(emulator);

    // Every claim is a request to a server: 1,600 per round. Two rounds, two instances with their own clients.
    protected override int RaceRounds => 2;

    protected virtual DynamoDbIdempotencyStoreOptions Configure(DynamoDbIdempotencyStoreOptions options) => options;

    public override async Task InitializeAsync() => await _kit.CreateTableAsync();

    protected override IIdempotencyStore CreateStore() => _kit.NewStore(Configure);

    // A second client and store over the same table, as a second host would have.
    protected override IIdempotencyStore OpenAnotherInstance() => _kit.NewStore(Configure);

    public override Task DisposeAsync()
    {
        _kit.Dispose();
        return Task.CompletedTask;
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class DynamoDbIdempotencyStoreContractOnMoto(MotoFixture emulator) : DynamoDbIdempotencyStoreContract(emulator)
{
    [Fact(Skip = MotoLimits.NoAtomicConditionalWrites)]
    public override Task GivenTwoStoreInstances_WhenEightTasksClaimTheSameKeysAtOnce_ThenEachKeyHasExactlyOneWinner() => Task.CompletedTask;
}

[Collection(EmulatorCollections.Dynalite)]
public sealed class DynamoDbIdempotencyStoreContractOnDynalite(DynaliteFixture emulator) : DynamoDbIdempotencyStoreContract(emulator);

/// <summary>The same contract with batches claimed through TransactWriteItems (moto has it; dynalite does not).</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class DynamoDbIdempotencyStoreContractOnMotoWithTransactions(MotoFixture emulator) : DynamoDbIdempotencyStoreContract(emulator)
{
    protected override DynamoDbIdempotencyStoreOptions Configure(DynamoDbIdempotencyStoreOptions options) =>
        options with { UseTransactions = true, TransactionItems = 10 };

    // Besides moto's non-atomic conditional puts, moto 5.2.1 undoes a cancelled transaction by restoring a deep copy of
    // the whole table taken before it, which also erases claims other clients wrote meanwhile (seen here: two winners
    // of one key in the first run). DynamoDB isolates transactions; the race without transactions runs on dynalite.
    [Fact(Skip = "moto rolls a cancelled transaction back by restoring a whole-table snapshot, erasing other clients' concurrent writes")]
    public override Task GivenTwoStoreInstances_WhenEightTasksClaimTheSameKeysAtOnce_ThenEachKeyHasExactlyOneWinner() => Task.CompletedTask;
}
