using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Embedded;

namespace Pipeline.Benchmarks;

/// <summary>
/// The whole engine: embedded queue → poller → router → lanes (batcher → invoker) → no-op function, BatchSize 10,
/// with claims in the in-memory or the SQLite idempotency store. One operation is one record, so BenchmarkDotNet's
/// mean is the time per record and records/s is its inverse.
/// </summary>
// Monitoring: each iteration drains a fresh queue of 200,000 records once. Three warm-up drains let tiered JIT and
// PGO settle, so the mean is the steady state.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 8)]
[MemoryDiagnoser]
public class EngineThroughputBenchmark
{
    private const int Records = 200_000;

    [Params("memory", "sqlite")]
    public string Store { get; set; } = "memory";

    [Params(2, 4)]
    public int Lanes { get; set; }

    /// <summary>10 is the figure; 100 shows what bigger batches (fewer SQLite transactions) buy.</summary>
    [Params(10, 100)]
    public int BatchSize { get; set; }

    private EmbeddedQueue _queue = null!;
    private IIdempotencyStore _store = null!;
    private string? _dir;
    private byte[][] _bodies = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _bodies = Enumerable.Range(0, Records)
            .Select(i => Encoding.UTF8.GetBytes($$"""{"jobId":"job-{{i}}","source":"in/image-{{i:D7}}.jpg"}"""))
            .ToArray();
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _queue = new EmbeddedQueue(new EmbeddedQueueOptions { ReceiveWaitTime = TimeSpan.FromMilliseconds(50) }, TimeProvider.System);
        foreach (byte[] body in _bodies)
        {
            _queue.Send(body);
        }

        if (Store == "sqlite")
        {
            _dir = Directory.CreateTempSubdirectory("bgpipe-bench-").FullName;
            _store = new SqliteIdempotencyStore(Path.Combine(_dir, "claims.db"));
        }
        else
        {
            _store = new InMemoryIdempotencyStore();
        }
    }

    [IterationCleanup]
    public void IterationCleanup()
    {
        (_store as IDisposable)?.Dispose();
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
            _dir = null;
        }
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public async Task PipelineNoOp()
    {
        // BatchSize 100 uses the Kinesis rules (no window), because SQS requires a window above 10 and the last partial
        // batch would then wait it out.
        BatchingOptions batching = BatchSize <= 10 ? BatchingOptions.ForSqs(BatchSize) : BatchingOptions.ForKinesis(BatchSize);
        var options = new MappingOptions { Batching = batching, Concurrency = Lanes };
        var guard = new IdempotencyGuard(_store, "bench/1/1", new LocalProcessLiveness(), TimeProvider.System, options.Invoker.ClaimLease);
        var mapping = new EventSourceMapping(options, new EmbeddedQueueSource(_queue), NoOpFunction.Instance, guard);
        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await _queue.WaitUntilEmptyAsync(CancellationToken.None);
        await stop.CancelAsync();
        await run;
        if (mapping.Statistics.SucceededEventCount != Records)
        {
            throw new InvalidOperationException($"expected {Records} successes, got {mapping.Statistics.SucceededEventCount}");
        }
    }

    private sealed class NoOpFunction : IJobFunction
    {
        public static NoOpFunction Instance { get; } = new();

        private static readonly ValueTask<JobOutput> Done = ValueTask.FromResult(new JobOutput(null));

        public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken) => Done;
    }
}
