using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Client.Messages;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.MassTransit.Tests;

/// <summary>
/// The consumer with a function and store of the application's own (registered before AddBackgroundRemoval), whose
/// function fails transiently: MassTransit's retry (from the consumer definition) runs it again.
/// </summary>
public sealed class TransientFailureTests
{
    /// <summary>Throws a plain exception (retriable by the source, not in process) until <see cref="FailuresLeft"/> is used up.</summary>
    private sealed class FlakyFunction : IJobFunction
    {
        public int FailuresLeft;

        public ConcurrentQueue<(string Key, int ReceiveCount)> Calls { get; } = new();

        public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
        {
            Calls.Enqueue((context.IdempotencyKey, context.ReceiveCount));
            if (Interlocked.Decrement(ref FailuresLeft) >= 0)
            {
                throw new IOException("the disk is busy");
            }

            return ValueTask.FromResult(new JobOutput("out/" + job.Source));
        }
    }

    private static ServiceProvider Build(FlakyFunction function, InMemoryIdempotencyStore store) => new ServiceCollection()
        .AddSingleton<IJobFunction>(function)
        .AddSingleton<IIdempotencyStore>(store)
        .AddBackgroundRemoval(o => o.Invoker = InvokerOptions.Default with { RetryAttempts = 0 })
        .AddMassTransitTestHarness(x => x.AddConsumer<RemoveBackgroundConsumer, RemoveBackgroundConsumerDefinition>())
        .BuildServiceProvider(true);

    [Fact]
    public async Task Given_a_function_that_fails_once_transiently_When_consumed_Then_MassTransit_retries_and_the_job_completes()
    {
        var function = new FlakyFunction { FailuresLeft = 1 };
        var store = new InMemoryIdempotencyStore();
        await using ServiceProvider provider = Build(function, store);
        ITestHarness harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        BackgroundRemovalRunner runner = provider.GetRequiredService<BackgroundRemovalRunner>();

        await harness.Bus.Publish(new RemoveBackground("s3://in/a.jpg") { JobId = "flaky-1" });
        await Pipeline.Testing.Wait.UntilAsync(() => runner.Statistics.SucceededEventCount == 1, "the retried job to succeed", TimeSpan.FromSeconds(30));

        Assert.Equal([("flaky-1", 1), ("flaky-1", 2)], function.Calls.ToArray());
        Assert.Equal(1, runner.Statistics.RetriedEventCount);
        IdempotencyRecord? record = await store.GetAsync("flaky-1", CancellationToken.None);
        Assert.Equal("out/s3://in/a.jpg", record?.ResultLocation);
        Assert.False(await harness.Published.Any<Fault<RemoveBackground>>(), "the job faulted although its retry succeeded");
        await harness.Stop();
    }

    [Fact]
    public async Task Given_a_transient_failure_When_the_runner_runs_it_Then_it_throws_the_retry_exception_and_releases_the_claim()
    {
        var function = new FlakyFunction { FailuresLeft = 1 };
        var store = new InMemoryIdempotencyStore();
        await using ServiceProvider provider = Build(function, store);
        BackgroundRemovalRunner runner = provider.GetRequiredService<BackgroundRemovalRunner>();
        var job = new RemoveBackground("s3://in/b.jpg") { JobId = "flaky-2" };

        var ex = await Assert.ThrowsAsync<BackgroundRemovalRetryException>(() => runner.RunAsync(job, "m-1", "test", 1, CancellationToken.None));
        RemovalOutcome second = await runner.RunAsync(job, "m-1", "test", 2, CancellationToken.None);

        Assert.Equal("flaky-2", ex.JobKey);
        Assert.Contains("the disk is busy", ex.Reason, StringComparison.Ordinal);
        Assert.Equal(new RemovalOutcome("flaky-2", ItemOutcome.Succeeded, "out/s3://in/b.jpg"), second);
    }
}
