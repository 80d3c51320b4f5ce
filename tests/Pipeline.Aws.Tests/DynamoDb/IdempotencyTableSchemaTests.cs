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
        var attribute = Assert.Single(request.AttributeDefinitions);
        Assert.Equal(("id", ScalarAttributeType.S), (attribute.AttributeName, attribute.AttributeType));
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

    public void Dispose() => _kit.Dispose();

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
    public async Task GivenATableWithAnotherKey_WhenEnsuring_ThenMismatchNamesTheKeyFound()
    {
        await _kit.NewClient().CreateTableAsync(new CreateTableRequest
        {
            TableName = _kit.TableName,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });

        var error = await Assert.ThrowsAsync<IdempotencyTableMismatchException>(() => _kit.CreateTableAsync());

        Assert.Contains("pk HASH", error.Message, StringComparison.Ordinal);
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class IdempotencyTableSchemaOnMoto(MotoFixture emulator) : IdempotencyTableSchemaTests(emulator)
{
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
