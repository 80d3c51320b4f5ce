using Amazon.DynamoDBv2.Model;
using Amazon.SQS.Model;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Emulators;

public abstract class SqsEmulatorSmokeTests(EmulatorFixture emulator)
{
    [Fact]
    public async Task Given_the_emulator_When_a_message_is_sent_Then_it_is_received_over_the_wire()
    {
        using var sqs = emulator.Endpoint.CreateSqs();
        var url = (await sqs.CreateQueueAsync($"smoke-{Guid.NewGuid():N}")).QueueUrl;
        await sqs.SendMessageAsync(url, "{\"source\":\"s3://b/k\"}");
        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
        Assert.Equal("{\"source\":\"s3://b/k\"}", Assert.Single(received.Messages).Body);
        Assert.StartsWith("http://127.0.0.1:", emulator.Process.Endpoint.ToString(), StringComparison.Ordinal);
    }
}

[Collection(EmulatorCollections.Moto)]
public sealed class SqsSmokeOnMoto(MotoFixture f) : SqsEmulatorSmokeTests(f);

[Collection(EmulatorCollections.Fauxqs)]
public sealed class SqsSmokeOnFauxqs(FauxqsFixture f) : SqsEmulatorSmokeTests(f);

[Collection(EmulatorCollections.Dynalite)]
public sealed class DynamoSmokeOnDynalite(DynaliteFixture emulator)
{
    [Fact]
    public async Task Given_dynalite_When_a_table_is_created_Then_it_is_listed()
    {
        using var ddb = emulator.Endpoint.CreateDynamoDb();
        var name = $"smoke-{Guid.NewGuid():N}";
        await ddb.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement("id", Amazon.DynamoDBv2.KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("id", Amazon.DynamoDBv2.ScalarAttributeType.S)],
            BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
        });
        Assert.Contains(name, (await ddb.ListTablesAsync()).TableNames);
    }
}
