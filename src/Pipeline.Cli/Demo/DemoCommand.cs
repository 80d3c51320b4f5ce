using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Embedded;

namespace Pipeline.Cli.Demo;

/// <summary>
/// <c>bgpipe demo</c>: runs the whole engine on the embedded default (in-memory queue with SQS semantics, SQLite
/// idempotency store) with the built-in demo function, plus a few poison messages that end in the dead-letter queue
/// after 5 receives. It exists so the engine can be run and watched before the background-removal function lands.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var jobs = new Option<int>("--jobs") { Description = "Jobs to enqueue.", DefaultValueFactory = _ => 10_000 };
        var poison = new Option<int>("--poison") { Description = "Extra messages that are not valid jobs (they end in the DLQ).", DefaultValueFactory = _ => 3 };
        var flaky = new Option<int>("--flaky-every") { Description = "Every N-th job fails its first attempt transiently (0: none).", DefaultValueFactory = _ => 1000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Lanes (concurrent batches), 1-1000.", DefaultValueFactory = _ => 5 };
        var batchSize = new Option<int>("--batch-size") { Description = "BatchSize, 1-10000.", DefaultValueFactory = _ => 10 };
        var stateDir = new Option<DirectoryInfo?>("--state-dir") { Description = "Where the SQLite idempotency store lives (default: a new temp folder). Rerun with the same folder to see jobs skipped." };

        var command = new Command("demo", "Run the engine on the embedded queue with the built-in DEMO function (no images are processed).")
        {
            jobs, poison, flaky, concurrency, batchSize, stateDir,
        };
        command.SetAction((parse, ct) => RunAsync(
            parse.GetValue(jobs), parse.GetValue(poison), parse.GetValue(flaky), parse.GetValue(concurrency), parse.GetValue(batchSize), parse.GetValue(stateDir), ct));
        return command;
    }

    private static async Task<int> RunAsync(int jobCount, int poisonCount, int flakyEvery, int concurrency, int batchSize, DirectoryInfo? stateDir, CancellationToken ct)
    {
        if (jobCount < 0 || poisonCount < 0 || flakyEvery < 0)
        {
            await Console.Error.WriteLineAsync("bgpipe demo: --jobs, --poison and --flaky-every must not be negative.");
            return ExitCodes.Usage;
        }

        MappingOptions options;
        try
        {
            int window = batchSize > 10 ? 1 : 0;
            options = new MappingOptions
            {
                Batching = BatchingOptions.ForSqs(batchSize, window),
                Concurrency = concurrency,
            }.Validate();
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"bgpipe demo: {ex.Message.Split(" (Parameter")[0]}");
            return ExitCodes.Usage;
        }

        string dir = stateDir?.FullName ?? Path.Combine(Path.GetTempPath(), "bgpipe-demo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        string dbPath = Path.Combine(dir, "idempotency.db");

        Console.WriteLine("bgpipe demo: the engine with the built-in DEMO function (it hashes job names; no images are processed).");
        Console.WriteLine($"  {jobCount:N0} jobs + {poisonCount} poison messages, {concurrency} lanes, BatchSize {batchSize}, store {dbPath}");

        TimeProvider time = TimeProvider.System;
        var dlq = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "jobs-dlq" }, time);
        var queue = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "jobs", ReceiveWaitTime = TimeSpan.FromMilliseconds(200) }, time, dlq);
        for (int i = 1; i <= jobCount; i++)
        {
            queue.Send(Encoding.UTF8.GetBytes($$"""{"jobId":"demo-{{i}}","source":"demo/image-{{i:D6}}.jpg"}"""));
        }

        string[] poisonBodies = ["not json at all", """{"destination":"x.png"}""", """{"source":"a.jpg","output":"gif"}""", "", """[1,2,3]"""];
        for (int i = 0; i < poisonCount; i++)
        {
            queue.Send(Encoding.UTF8.GetBytes(poisonBodies[i % poisonBodies.Length] + (i >= poisonBodies.Length ? " " : "")));
        }

        var function = new DemoFunction(flakyEvery);
        await using var store = new SqliteIdempotencyStore(dbPath);
        var guard = new IdempotencyGuard(store, OwnerIdentity.Current.ToString(), new LocalProcessLiveness(), time, options.Invoker.ClaimLease);
        var mapping = new EventSourceMapping(options, new EmbeddedQueueSource(queue), function, guard, time);

        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task run = mapping.RunAsync(stop.Token);
        await queue.WaitUntilEmptyAsync(ct).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        await stop.CancelAsync();
        await run;
        clock.Stop();

        MappingStatistics s = mapping.Statistics;
        IReadOnlyList<DeadLetter> dead = dlq.PeekAll();
        Console.WriteLine();
        Console.WriteLine($"  done          {s.SucceededEventCount,10:N0}");
        Console.WriteLine($"  skipped       {s.SkippedEventCount,10:N0}   (already completed in {dbPath})");
        Console.WriteLine($"  dead-lettered {dead.Count,10:N0}");
        foreach (DeadLetter d in dead)
        {
            Console.WriteLine($"    {d.MessageId}: receives {d.ReceiveCount}, {d.LastError}");
        }

        Console.WriteLine($"  function calls {function.Calls,9:N0}   (retries included)");
        Console.WriteLine($"  elapsed       {clock.Elapsed.TotalSeconds,10:N2} s, {(s.SucceededEventCount + s.SkippedEventCount) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),10:N0} jobs/s");
        return dead.Count > 0 ? ExitCodes.DeadLettered : ExitCodes.Ok;
    }
}
