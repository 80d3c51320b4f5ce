using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws.Provisioning;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Provisioning;

[Collection(EmulatorCollections.Moto)]
public sealed class ProvisionerOnMotoTests(MotoFixture moto)
{
    private static string Prefix() => $"p{Guid.NewGuid():N}"[..12] + "-";

    private Provisioner Provisioner(ProvisioningClients clients) => new(clients, tablePollInterval: TimeSpan.FromMilliseconds(20));

    /// <summary>A table keyed by <paramref name="key"/> (S) and nothing else, as one made by hand.</summary>
    private static Task CreateBareTableAsync(ProvisioningClients clients, string name, string key) =>
        clients.DynamoDb.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement(key, KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition(key, ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });

    private static async Task<Dictionary<string, string>> QueueAttributesAsync(IAmazonSQS sqs, string name)
    {
        string url = (await sqs.GetQueueUrlAsync(name)).QueueUrl;
        return (await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["All"] })).Attributes;
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_empty_endpoint_When_provisioned_Then_every_resource_exists_with_the_listed_attributes()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix(), functionTimeoutSeconds: 45, buckets: [$"b-{Guid.NewGuid():N}"]);

        ProvisionReport report = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.All(report.Outcomes, o => Assert.Equal(ProvisionAction.Created, o.Action));
        Assert.Equal(list.All.Select(r => r.Name), report.Outcomes.Select(o => o.Resource.Name));
        Assert.Empty(report.Warnings);

        Dictionary<string, string> dlq = await QueueAttributesAsync(clients.Sqs, list.JobsDeadLetterQueue.Name);
        Dictionary<string, string> jobs = await QueueAttributesAsync(clients.Sqs, list.JobsQueue.Name);
        Assert.Equal("1209600", dlq["MessageRetentionPeriod"]);
        Assert.Equal("270", jobs["VisibilityTimeout"]);
        Assert.Equal("true", jobs["SqsManagedSseEnabled"]);
        using JsonDocument redrive = JsonDocument.Parse(jobs["RedrivePolicy"]);
        Assert.Equal(dlq["QueueArn"], redrive.RootElement.GetProperty("deadLetterTargetArn").GetString());
        Assert.Equal("5", redrive.RootElement.GetProperty("maxReceiveCount").ToString());

        TableDescription table = (await clients.DynamoDb.DescribeTableAsync(list.IdempotencyTable.Name)).Table;
        KeySchemaElement key = Assert.Single(table.KeySchema);
        Assert.Equal(("id", KeyType.HASH), (key.AttributeName, key.KeyType));
        Assert.Equal(["id", "job_key"], table.AttributeDefinitions.Select(a => a.AttributeName).Order());
        GlobalSecondaryIndexDescription index = Assert.Single(table.GlobalSecondaryIndexes);
        Assert.Equal(("job_key-index", "job_key"), (index.IndexName, Assert.Single(index.KeySchema).AttributeName));
        Assert.Equal(BillingMode.PAY_PER_REQUEST, table.BillingModeSummary.BillingMode);
        TimeToLiveDescription ttl = (await clients.DynamoDb.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table.TableName })).TimeToLiveDescription;
        Assert.Equal(("expiration", TimeToLiveStatus.ENABLED), (ttl.AttributeName, ttl.TimeToLiveStatus));

        Assert.Contains(list.Buckets[0].Name, (await clients.S3.ListBucketsAsync()).Buckets.Select(b => b.BucketName));
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_provisioned_resources_When_provisioned_again_Then_everything_is_unchanged()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix(), buckets: [$"b-{Guid.NewGuid():N}"]);
        await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        ProvisionReport again = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.All(again.Outcomes, o => Assert.Equal(ProvisionAction.Unchanged, o.Action));
        Assert.Equal(list.All.Count(), again.Outcomes.Count);
        Assert.False(again.ChangedAnything);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_drifted_queue_attributes_and_a_disabled_ttl_When_provisioned_Then_they_are_set_back_and_reported()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix());
        await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);
        string jobsUrl = (await clients.Sqs.GetQueueUrlAsync(list.JobsQueue.Name)).QueueUrl;
        string dlqArn = (await QueueAttributesAsync(clients.Sqs, list.JobsDeadLetterQueue.Name))["QueueArn"];
        await clients.Sqs.SetQueueAttributesAsync(jobsUrl, new Dictionary<string, string>
        {
            ["VisibilityTimeout"] = "30",
            ["RedrivePolicy"] = QueueResource.RedrivePolicy(dlqArn, 3),
        });
        await clients.DynamoDb.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = list.IdempotencyTable.Name,
            TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = "expiration", Enabled = false },
        });

        ProvisionReport dry = await Provisioner(clients).ApplyAsync(list, dryRun: true, CancellationToken.None);
        Assert.Equal("30", (await QueueAttributesAsync(clients.Sqs, list.JobsQueue.Name))["VisibilityTimeout"]);
        ProvisionReport report = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.Equal(ProvisionAction.WouldUpdate, dry.For(list.JobsQueue).Action);
        ResourceOutcome jobs = report.For(list.JobsQueue);
        Assert.Equal(ProvisionAction.Updated, jobs.Action);
        Assert.Contains("VisibilityTimeout 30 -> 360", jobs.Changes);
        Assert.Contains(jobs.Changes, c => c.StartsWith("RedrivePolicy ", StringComparison.Ordinal));
        Assert.Equal(ProvisionAction.Updated, report.For(list.IdempotencyTable).Action);
        Assert.Equal(ProvisionAction.Unchanged, report.For(list.JobsDeadLetterQueue).Action);
        Dictionary<string, string> repaired = await QueueAttributesAsync(clients.Sqs, list.JobsQueue.Name);
        Assert.Equal("360", repaired["VisibilityTimeout"]);
        using JsonDocument redrive = JsonDocument.Parse(repaired["RedrivePolicy"]);
        Assert.Equal("5", redrive.RootElement.GetProperty("maxReceiveCount").ToString());
        TimeToLiveDescription ttl = (await clients.DynamoDb.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = list.IdempotencyTable.Name })).TimeToLiveDescription;
        Assert.Equal(TimeToLiveStatus.ENABLED, ttl.TimeToLiveStatus);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_empty_endpoint_When_dry_run_Then_everything_would_be_created_and_nothing_is()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix(), buckets: [$"b-{Guid.NewGuid():N}"]);

        ProvisionReport report = await Provisioner(clients).ApplyAsync(list, dryRun: true, CancellationToken.None);

        Assert.All(report.Outcomes, o => Assert.Equal(ProvisionAction.WouldCreate, o.Action));
        Assert.Contains("VisibilityTimeout=360", report.For(list.JobsQueue).Changes);
        Assert.Empty((await clients.Sqs.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = list.Prefix })).QueueUrls ?? []);
        Assert.DoesNotContain(list.IdempotencyTable.Name, (await clients.DynamoDb.ListTablesAsync()).TableNames ?? []);
        Assert.DoesNotContain(list.Buckets[0].Name, ((await clients.S3.ListBucketsAsync()).Buckets ?? []).Select(b => b.BucketName));
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_idempotency_table_made_before_the_job_key_index_When_provisioned_Then_the_index_is_added_and_reported()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix());
        await CreateBareTableAsync(clients, list.IdempotencyTable.Name, "id");

        ProvisionReport dry = await Provisioner(clients).ApplyAsync(list, dryRun: true, CancellationToken.None);
        ProvisionReport report = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.Contains(dry.For(list.IdempotencyTable).Changes, c => c.Contains("job_key-index", StringComparison.Ordinal));
        Assert.Equal(ProvisionAction.Updated, report.For(list.IdempotencyTable).Action);
        Assert.Contains(report.For(list.IdempotencyTable).Changes, c => c.Contains("index job_key-index on job_key added", StringComparison.Ordinal));
        TableDescription table = (await clients.DynamoDb.DescribeTableAsync(list.IdempotencyTable.Name)).Table;
        Assert.Equal("job_key-index", Assert.Single(table.GlobalSecondaryIndexes).IndexName);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_a_table_with_another_key_When_provisioned_Then_it_is_refused_naming_the_table_and_keys()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix());
        await CreateBareTableAsync(clients, list.IdempotencyTable.Name, "pk");

        var ex = await Assert.ThrowsAsync<ProvisioningConflictException>(() => Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None));

        Assert.Contains(list.IdempotencyTable.Name, ex.Message, StringComparison.Ordinal);
        Assert.Contains("[pk HASH]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("partition key id", ex.Message, StringComparison.Ordinal);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_a_fifo_jobs_queue_When_provisioned_twice_Then_both_queues_are_fifo_and_the_rerun_is_unchanged()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix(), jobsQueue: "jobs.fifo");

        await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);
        ProvisionReport again = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.Equal("true", (await QueueAttributesAsync(clients.Sqs, list.JobsQueue.Name))["FifoQueue"]);
        Assert.Equal("true", (await QueueAttributesAsync(clients.Sqs, list.JobsDeadLetterQueue.Name))["FifoQueue"]);
        Assert.All(again.Outcomes, o => Assert.Equal(ProvisionAction.Unchanged, o.Action));
    }
}

public sealed class ProvisionerUnreachableTests
{
    [Fact]
    public async Task Given_no_server_at_the_endpoint_When_dry_run_Then_it_says_the_endpoint_cannot_be_reached()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // the port is now closed: connections are refused
        using ProvisioningClients clients = ProvisioningClients.For(AwsEndpoint.FromOption($"http://127.0.0.1:{port}"));

        var ex = await Assert.ThrowsAsync<EndpointUnreachableException>(() => new Provisioner(clients).ApplyAsync(ResourceList.For(), dryRun: true, CancellationToken.None));

        Assert.Contains($"cannot reach http://127.0.0.1:{port}/", ex.Message, StringComparison.Ordinal);
    }
}
