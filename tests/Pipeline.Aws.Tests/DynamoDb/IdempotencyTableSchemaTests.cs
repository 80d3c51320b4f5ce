using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;
using Pipeline.Aws.DynamoDb;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.DynamoDb;

public sealed class IdempotencyTableSchemaDescriptionTests
{
    [Fact]
    public void GivenATableName_WhenDescribingTheTable_ThenKeyIdOfTypeStringOnDemandAndEncrypted()
    {
        var request = IdempotencyTableSchema.CreateTableRequest("bgpipe-idempotency");

        var key = Assert.Single(request.KeySchema);
        Assert.Equal(("id", KeyType.HASH), (key.AttributeName, key.KeyType));
        Assert.Equal([("id", ScalarAttributeType.S), ("job_key", ScalarAttributeType.S)], request.AttributeDefinitions.Select(a => (a.AttributeName, a.AttributeType)));
        var index = Assert.Single(request.GlobalSecondaryIndexes);
        Assert.Equal(("job_key-index", "job_key", ProjectionType.ALL), (index.IndexName, Assert.Single(index.KeySchema).AttributeName, index.Projection.ProjectionType));
        Assert.Equal(BillingMode.PAY_PER_REQUEST, request.BillingMode);
        Assert.True(request.SSESpecification.Enabled);
        Assert.Equal("expiration", IdempotencyTableSchema.TimeToLiveRequest("bgpipe-idempotency").TimeToLiveSpecification.AttributeName);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("has space")]
    [InlineData("")]
    public void GivenABadTableName_WhenDescribing_ThenArgumentExceptionQuotesIt(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => IdempotencyTableSchema.CreateTableRequest(name));

        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
    }
}

public abstract class IdempotencyTableSchemaTests(EmulatorFixture emulator) : IDisposable
{
    private readonly DynamoDbTestKit _kit = new(emulator);

    private protected DynamoDbTestKit Kit => _kit;

    /// <summary>Whether the emulator implements UpdateTable's GlobalSecondaryIndexUpdates.</summary>
    protected abstract bool IndexCanBeAdded { get; }

    public void Dispose() => _kit.Dispose();

    /// <summary>A bare table keyed by <paramref name="key"/> (S), as one made by hand or before the job-key index existed.</summary>
    private async Task CreateTableWithKeyAsync(string key)
    {
        var client = _kit.NewClient();
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = _kit.TableName,
            KeySchema = [new KeySchemaElement(key, KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition(key, ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });

        // dynalite answers CREATING first; writes before ACTIVE are refused.
        await Pipeline.Testing.Wait.UntilAsync(
            async () => (await client.DescribeTableAsync(_kit.TableName)).Table.TableStatus == TableStatus.ACTIVE,
            $"table {_kit.TableName} ACTIVE",
            TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task GivenNoTable_WhenEnsuringItTwice_ThenCreatedOnceWithTheKeyTheStoreNeeds()
    {
        var first = await _kit.CreateTableAsync();
        var second = await _kit.CreateTableAsync();

        Assert.True(first.Created);
        Assert.False(second.Created);
        var table = (await _kit.NewClient().DescribeTableAsync(_kit.TableName)).Table;
        Assert.Equal(TableStatus.ACTIVE, table.TableStatus);
        Assert.Equal(("id", KeyType.HASH), (Assert.Single(table.KeySchema).AttributeName, table.KeySchema[0].KeyType));
    }

    [Fact]
    public async Task GivenATableMadeBeforeTheJobKeyIndex_WhenEnsured_ThenJobRecordsAreFound()
    {
        await CreateTableWithKeyAsync("id");

        await _kit.CreateTableAsync();

        // moto adds the index; dynalite accepts the update but makes none, and the store scans instead.
        var table = (await _kit.NewClient().DescribeTableAsync(_kit.TableName)).Table;
        Assert.Equal(IndexCanBeAdded, IdempotencyTableSchema.HasJobKeyIndex(table));
        var store = _kit.NewStore();
        var now = DateTimeOffset.UtcNow;
        await store.TryClaimAsync([new Pipeline.Core.Idempotency.ClaimRequest("job-1#s3:e", "host/1/1", now.AddMinutes(1), "m-1") { JobKey = "job-1" }], now, CancellationToken.None);
        Assert.Equal("job-1#s3:e", Assert.Single(await store.FindByJobKeyAsync("job-1", CancellationToken.None)).Key);
    }

    [Fact]
    public async Task GivenATableWithoutTheJobKeyIndex_WhenFindingByJobKey_ThenTheTableIsScannedInstead()
    {
        await CreateTableWithKeyAsync("id");
        var store = _kit.NewStore();
        var now = DateTimeOffset.UtcNow;
        await store.TryClaimAsync(
            [
                new Pipeline.Core.Idempotency.ClaimRequest("job-2#a", "host/1/1", now.AddMinutes(1), "m-1") { JobKey = "job-2" },
                new Pipeline.Core.Idempotency.ClaimRequest("job-3#a", "host/1/1", now.AddMinutes(1), "m-2") { JobKey = "job-3" },
            ],
            now,
            CancellationToken.None);

        var found = await store.FindByJobKeyAsync("job-2", CancellationToken.None);

        Assert.Equal("job-2#a", Assert.Single(found).Key);
    }

    [Fact]
    public async Task GivenATableWithAnotherKey_WhenEnsuring_ThenMismatchNamesTheKeyFound()
    {
        await CreateTableWithKeyAsync("pk");

        var error = await Assert.ThrowsAsync<IdempotencyTableMismatchException>(() => _kit.CreateTableAsync());

        Assert.Contains("pk HASH", error.Message, StringComparison.Ordinal);
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class IdempotencyTableSchemaOnMoto(MotoFixture emulator) : IdempotencyTableSchemaTests(emulator)
{
    protected override bool IndexCanBeAdded => true;

    [Fact]
    public async Task GivenMoto_WhenEnsuringTheTable_ThenTtlIsOnForExpirationAndTheTableIsOnDemandAndEncrypted()
    {
        var state = await Kit.CreateTableAsync();

        var client = Kit.NewClient();
        var ttl = (await client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = Kit.TableName })).TimeToLiveDescription;
        var table = (await client.DescribeTableAsync(Kit.TableName)).Table;
        Assert.True(state.TimeToLiveEnabled);
        Assert.Equal((TimeToLiveStatus.ENABLED, "expiration"), (ttl.TimeToLiveStatus, ttl.AttributeName));
        Assert.Equal(BillingMode.PAY_PER_REQUEST, table.BillingModeSummary?.BillingMode);
        Assert.Equal(SSEStatus.ENABLED, table.SSEDescription?.Status);
    }
}

[Collection(EmulatorCollections.Dynalite)]
public sealed class IdempotencyTableSchemaOnDynalite(DynaliteFixture emulator) : IdempotencyTableSchemaTests(emulator)
{
    protected override bool IndexCanBeAdded => false;

    [Fact]
    public async Task GivenDynaliteWithoutTheTtlApi_WhenEnsuringTheTable_ThenItIsCreatedAndAWarningSaysTtlIsOff()
    {
        var logger = new ListLogger();

        var state = await Kit.CreateTableAsync(logger);

        Assert.True(state.Created);
        Assert.False(state.TimeToLiveEnabled);
        var warning = Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning);
        Assert.Contains("expiration", warning.Message, StringComparison.Ordinal);
        Assert.Contains(Kit.TableName, warning.Message, StringComparison.Ordinal);
    }
}
