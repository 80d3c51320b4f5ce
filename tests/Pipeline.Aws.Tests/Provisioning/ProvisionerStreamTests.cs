using Amazon.DynamoDBv2.Model;
using Amazon.SQS.Model;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Provisioning;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Provisioning;

[Collection(EmulatorCollections.Moto)]
public sealed class ProvisionerStreamOnMotoTests(MotoFixture moto)
{
    private static string Prefix() => $"k{Guid.NewGuid():N}"[..12] + "-";

    private static Provisioner Provisioner(ProvisioningClients clients) => new(clients, tablePollInterval: TimeSpan.FromMilliseconds(20));

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_a_stream_in_the_list_When_provisioned_twice_Then_the_stream_queue_and_lease_table_are_created_then_unchanged()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix(), streamShards: 2);

        ProvisionReport first = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);
        ProvisionReport again = await Provisioner(clients).ApplyAsync(list, dryRun: false, CancellationToken.None);

        Assert.All(first.Outcomes, o => Assert.Equal(ProvisionAction.Created, o.Action));
        Assert.Equal(list.All.Select(r => r.Name), first.Outcomes.Select(o => o.Resource.Name));
        Assert.Equal("created      Kinesis stream " + list.JobsStream!.Name + ": 2 shards", first.For(list.JobsStream).ToString());
        Assert.Empty(first.Warnings);
        Assert.All(again.Outcomes, o => Assert.Equal(ProvisionAction.Unchanged, o.Action));
        Assert.Empty(again.Warnings);

        StreamDescriptionSummary stream = (await clients.Kinesis!.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = list.JobsStream.Name })).StreamDescriptionSummary;
        Assert.Equal((StreamStatus.Active, 2), (stream.StreamStatus, stream.OpenShardCount));
        string url = (await clients.Sqs.GetQueueUrlAsync(list.StreamFailuresQueue!.Name)).QueueUrl;
        var attributes = (await clients.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["All"] })).Attributes;
        Assert.Equal(("1209600", "true"), (attributes["MessageRetentionPeriod"], attributes["SqsManagedSseEnabled"]));
        TableDescription leases = (await clients.DynamoDb.DescribeTableAsync(list.LeaseTable!.Name)).Table;
        Assert.Equal("leaseKey", Assert.Single(leases.KeySchema).AttributeName);
        Assert.Equal("PAY_PER_REQUEST", leases.BillingModeSummary.BillingMode.Value);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_existing_stream_with_another_shard_count_When_provisioned_Then_it_is_not_resharded_and_a_warning_names_both_counts()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        string prefix = Prefix();
        await Provisioner(clients).ApplyAsync(ResourceList.For(prefix, streamShards: 1), dryRun: false, CancellationToken.None);
        ResourceList wider = ResourceList.For(prefix, streamShards: 3);

        ProvisionReport report = await Provisioner(clients).ApplyAsync(wider, dryRun: false, CancellationToken.None);

        Assert.Equal(ProvisionAction.Unchanged, report.For(wider.JobsStream!).Action);
        string warning = Assert.Single(report.Warnings);
        Assert.Contains("has 1 open shards but the list asks for 3", warning, StringComparison.Ordinal);
        StreamDescriptionSummary stream = (await clients.Kinesis!.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = wider.JobsStream!.Name })).StreamDescriptionSummary;
        Assert.Equal(1, stream.OpenShardCount);
    }

    [EmulatorFact(EmulatorKind.Moto)]
    public async Task Given_an_empty_endpoint_When_a_stream_list_is_dry_run_Then_it_would_create_everything_and_creates_nothing()
    {
        using ProvisioningClients clients = ProvisioningClients.For(moto.Endpoint);
        ResourceList list = ResourceList.For(Prefix(), streamShards: 2);

        ProvisionReport report = await Provisioner(clients).ApplyAsync(list, dryRun: true, CancellationToken.None);

        Assert.All(report.Outcomes, o => Assert.Equal(ProvisionAction.WouldCreate, o.Action));
        Assert.Equal(list.All.Count(), report.Outcomes.Count);
        await Assert.ThrowsAsync<KinesisResourceNotFoundException>(() => clients.Kinesis!.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = list.JobsStream!.Name }));
        await Assert.ThrowsAsync<Amazon.DynamoDBv2.Model.ResourceNotFoundException>(() => clients.DynamoDb.DescribeTableAsync(list.LeaseTable!.Name));
        Assert.Empty((await clients.Sqs.ListQueuesAsync(new ListQueuesRequest { QueueNamePrefix = list.Prefix })).QueueUrls ?? []);
    }
}
