using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Invocation;

public sealed class InvokerRaceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bgpipe-race-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("memory")]
    [InlineData("sqlite")]
    public async Task Given_eight_invokers_with_distinct_owners_When_they_run_the_same_jobs_at_once_Then_each_job_runs_exactly_once(string storeKind)
    {
        // One shared store for memory; for SQLite each invoker opens its own connection to one file, as processes would.
        var shared = new InMemoryIdempotencyStore();
        string path = Path.Combine(_dir, "claims.db");
        var stores = new List<IIdempotencyStore>();
        var function = new ScriptedFunction(async (job, _, ct) =>
        {
            await Task.Yield(); // let the other invokers reach the same key while this one holds the claim
            return new JobOutput(job.Source);
        });
        string[] sources = Enumerable.Range(0, 50).Select(i => $"img-{i}.jpg").ToArray();

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = Enumerable.Range(0, 8).Select(n =>
        {
            IIdempotencyStore store = storeKind == "memory" ? shared : new SqliteIdempotencyStore(path);
            lock (stores)
            {
                stores.Add(store);
            }

            var guard = new IdempotencyGuard(store, $"host/1/1/owner-{n}", FakeLiveness.NobodyDies, TimeProvider.System, TimeSpan.FromSeconds(30));
            var invoker = new BatchInvoker(function, guard, new RecordingAcknowledger(), InvokerOptions.Default, BatchingOptions.ForSqs(), TimeProvider.System, new MappingStatistics(), NullLogger.Instance);
            return Task.Run(async () =>
            {
                await start.Task;
                var results = new List<ItemResult>();
                foreach (string[] chunk in sources.Chunk(10))
                {
                    DecodedRecord[] items = chunk.Select(s => TestRecords.Job(s)).ToArray();
                    results.AddRange(await invoker.InvokeAsync(new Batch(0, items, 0, BatchCutReason.NoWindow), default));
                }

                return results;
            });
        }).ToArray();

        start.SetResult();
        ItemResult[] all = (await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60))).SelectMany(r => r).ToArray();

        Assert.Equal(sources.Length, function.CallsByKey.Count);
        Assert.All(function.CallsByKey, kv => Assert.Equal(1, kv.Value));
        foreach (IGrouping<string, ItemResult> perJob in all.GroupBy(r => r.Record.Body.Length + ":" + System.Text.Encoding.UTF8.GetString(r.Record.Body.Span)))
        {
            Assert.Equal(1, perJob.Count(r => r.Outcome == ItemOutcome.Succeeded));
            Assert.All(perJob, r => Assert.Contains(r.Outcome, new[] { ItemOutcome.Succeeded, ItemOutcome.Skipped, ItemOutcome.Deferred }));
        }

        foreach (IIdempotencyStore store in stores.Distinct())
        {
            (store as IDisposable)?.Dispose();
        }
    }
}
