using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aws.DynamoDb;
using Pipeline.Client.Status;
using Pipeline.Core.Idempotency;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Client.Tests.Status;

/// <summary>End to end: workers claim, complete and fail jobs in the DynamoDB idempotency table; status reads them back.</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class JobStatusOnDynamoDbTests(MotoFixture moto)
{
    [Fact]
    public async Task Given_jobs_claimed_completed_failed_and_lapsed_in_the_DynamoDB_table_When_status_is_asked_through_the_container_Then_each_has_its_state()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using IAmazonDynamoDB dynamo = moto.Endpoint.CreateDynamoDb();
        string table = $"status-{Guid.NewGuid():N}";
        await IdempotencyTableSchema.EnsureTableAsync(dynamo, table, NullLogger.Instance, TimeProvider.System, CancellationToken.None);
        var store = new DynamoDbIdempotencyStore(dynamo, new DynamoDbIdempotencyStoreOptions { TableName = table });
        var worker = new IdempotencyGuard(store, "worker-1", new LocalProcessLiveness(), time, TimeSpan.FromMinutes(5));
        var shortLived = new IdempotencyGuard(store, "worker-2", new LocalProcessLiveness(), time, TimeSpan.FromSeconds(10));
        string run = Guid.NewGuid().ToString("N")[..8];
        string Job(string name) => $"{name}-{run}";

        var claims = await worker.ClaimAsync([(Job("running") + "#v1", "m1", Job("running")), (Job("done") + "#v1", "m2", Job("done")), (Job("failed") + "#v1", "m3", Job("failed"))], CancellationToken.None);
        Assert.All(claims, c => Assert.Equal(ClaimStatus.Claimed, c.Status));
        Assert.Equal(ClaimStatus.Claimed, Assert.Single(await shortLived.ClaimAsync([(Job("lapsed") + "#v1", "m4", Job("lapsed"))], CancellationToken.None)).Status);
        await worker.FinishAsync([worker.Complete(Job("done") + "#v1", "s3://out/done.png"), worker.Fail(Job("failed") + "#v1", "source not found: s3://in/failed.jpg")], CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(11));

        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddBackgroundRemovalJobs(o =>
        {
            o.Queue = "unused";
            o.ServiceUrl = moto.Endpoint.ServiceUrl!.ToString();
            o.IdempotencyTable = table;
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        var jobs = provider.GetRequiredService<IBackgroundRemovalJobs>();

        // The job-key index is read eventually consistently; wait until the finished records show through it.
        JobStatus? done = null;
        await Wait.UntilAsync(async () => (done = await jobs.GetStatusAsync(Job("done"))).State == JobState.Done, "the completed job's record through the index", TimeSpan.FromSeconds(20));
        Assert.Equal("s3://out/done.png", done!.ResultLocation);
        Assert.NotNull(done.UpdatedAt);

        JobStatus failed = await jobs.GetStatusAsync(Job("failed"));
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Equal("source not found: s3://in/failed.jpg", failed.FailureReason);
        Assert.Equal(JobState.InProgress, (await jobs.GetStatusAsync(Job("running"))).State);
        Assert.Equal(JobState.Pending, (await jobs.GetStatusAsync(Job("lapsed"))).State);
        Assert.Equal(new JobStatus(Job("never"), JobState.Pending, null, null, null), await jobs.GetStatusAsync(Job("never")));
        Assert.Equal(JobState.Done, (await new JobStatusClient(store, time).GetStatusAsync(Job("done"))).State);
    }
}
