using BenchmarkDotNet.Running;
using Pipeline.Benchmarks;
using Pipeline.Benchmarks.Backlog;

// dotnet run -c Release --project tests/Pipeline.Benchmarks -- <mode> [args]
//   function-vs-bare <set-dir> [threads...]     quality and per-stage time, function vs bare ONNX Runtime loop
//   backlog-throughput <images-dir> [rounds]    bgpipe backlog images/s vs the bare loop, same run
//   backlog-crash <images-dir> [count] [kill-after...]   SIGKILL and rerun
//   backlog-memory <images-dir> [count]         RSS over a long backlog
//   sqs-poller-efficiency [messages] [concurrency] [rounds]   SQS poller vs a bare receive/delete loop on fauxqs
//   dedup-cost [records] [rounds]              idempotency claim+complete ms per record: DynamoDB store on moto and
//                                              dynalite (single, batches of 10 as PutItems or TransactWriteItems), SQLite
//   --filter '*EngineThroughput*'               BenchmarkDotNet: the engine without a model
return args.FirstOrDefault() switch
{
    "function-vs-bare" => FunctionVersusBare.Run(args[1..]),
    "backlog-throughput" => await ThroughputHarness.RunAsync(args[1..]),
    "backlog-crash" => await CrashHarness.RunAsync(args[1..]),
    "backlog-memory" => await MemoryHarness.RunAsync(args[1..]),
    "sqs-poller-efficiency" => await Pipeline.Benchmarks.Sqs.SqsPollerEfficiency.RunAsync(args[1..]),
    "dedup-cost" => await Pipeline.Benchmarks.DedupCost.DedupCostHarness.RunAsync(args[1..]),
    _ => RunBenchmarkDotNet(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EngineThroughputBenchmark).Assembly).Run(args);
    return 0;
}
