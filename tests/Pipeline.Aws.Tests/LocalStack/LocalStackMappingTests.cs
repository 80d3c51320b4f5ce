using Pipeline.Aws.DynamoDb;
using Pipeline.Aws.Provisioning;
using Pipeline.Aws.Sqs;
using Pipeline.Aws.Tests.Sqs.Fakes;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;
using Testcontainers.LocalStack;

namespace Pipeline.Aws.Tests.LocalStack;

/// <summary>
/// The same SQS mapping, on LocalStack through Testcontainers: provision, send, drain with DynamoDB deduplication, and
/// a failing job in the DLQ after 5 receives. Skips, saying why, where no Docker engine can provide the image.
/// </summary>
public sealed class LocalStackMappingTests
{
    [LocalStackFact]
    public async Task Given_LocalStack_When_a_provisioned_queue_is_drained_Then_good_jobs_are_deleted_once_and_a_bad_one_reaches_the_DLQ()
    {
        // Bound to 127.0.0.1 only: no port of the container is published on other interfaces.
        await using LocalStackContainer localStack = new LocalStackBuilder(LocalStackFactAttribute.Image)
            .WithCreateParameterModifier(p => p.HostConfig!.PortBindings = new Dictionary<string, IList<Docker.DotNet.Models.PortBinding>>
            {
                ["4566/tcp"] = [new Docker.DotNet.Models.PortBinding { HostIP = "127.0.0.1", HostPort = string.Empty }],
            })
            .Build();
        await localStack.StartAsync();
        AwsEndpoint endpoint = AwsEndpoint.At(new Uri($"http://127.0.0.1:{localStack.GetMappedPublicPort(4566)}"));

        ResourceList resources = ResourceList.For("ls-", functionTimeoutSeconds: 1);
        using (ProvisioningClients clients = ProvisioningClients.For(endpoint))
        {
            await new Provisioner(clients).ApplyAsync(resources, dryRun: false, CancellationToken.None);
        }

        using Amazon.SQS.IAmazonSQS sqs = endpoint.CreateSqs();
        using Amazon.DynamoDBv2.IAmazonDynamoDB dynamo = endpoint.CreateDynamoDb();
        SqsJobSender sender = await SqsJobSender.CreateAsync(sqs, resources.JobsQueue.Name);
        await sender.SendAsync([.. Enumerable.Range(0, 20).Select(i => new SqsOutgoingMessage(SqsTestKit.Job($"j{i}")))]);
        var function = new ScriptedJobFunction((job, _, _) => job.JobId == "j7"
            ? throw new PermanentJobException("j7 is poison")
            : ValueTask.FromResult(new JobOutput("out/" + job.JobId)));
        var store = new DynamoDbIdempotencyStore(dynamo, new DynamoDbIdempotencyStoreOptions { TableName = resources.IdempotencyTable.Name });
        await using SqsRecordSource source = await SqsRecordSource.CreateAsync(sqs, new SqsSourceOptions { Queue = resources.JobsQueue.Name, WaitTimeSeconds = 1 });
        var options = SqsMappingDefaults.For(false, concurrency: 2, invoker: SqsTestKit.FastInvoker);
        var mapping = new EventSourceMapping(options, source, function,
            new IdempotencyGuard(store, "localstack-test/1/1/a", NobodyDies.Instance, TimeProvider.System, options.Invoker.ClaimLease));
        string dlq = await SqsQueues.ResolveUrlAsync(sqs, resources.JobsDeadLetterQueue.Name);

        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(async () => (await SqsTestKit.CountAsync(sqs, dlq)).Visible == 1, "the poison job in the DLQ", TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await run;

        Assert.Equal(19, function.Calls.Select(c => c.Job.JobId).Where(id => id != "j7").Distinct().Count());
        Assert.Equal(19, mapping.Statistics.SucceededEventCount);
        Assert.Equal((0, 0), await SqsTestKit.CountAsync(sqs, source.Queue.Url));
    }
}
