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
//   kinesis-throughput [records=20000] [shards=4] [factor=10] [rounds=3] [batch=100] [poll-ms=200]
//                                              Kinesis mapping (no-op function, checkpoints) vs a bare GetRecords drain of
//                                              the same stream on kinesalite (leases on moto); exits 1 if median ratio < 0.9
//   lambda-cold-start [runs] [r2r,jit,aot]     the Lambda bootstrap (linux-x64): process start -> first response on a
//                                              one-image SQS event, ReadyToRun vs JIT vs Native AOT; package sizes
//   client-throughput [jobs=5000] [rounds=5] [concurrency=4]   client SDK EnqueueManyAsync vs a plain SendMessageBatch loop on fauxqs
//   --filter '*EngineThroughput*'               BenchmarkDotNet: the engine without a model
return args.FirstOrDefault() switch
{
    "function-vs-bare" => FunctionVersusBare.Run(args[1..]),
    "backlog-throughput" => await ThroughputHarness.RunAsync(args[1..]),
    "backlog-crash" => await CrashHarness.RunAsync(args[1..]),
    "backlog-memory" => await MemoryHarness.RunAsync(args[1..]),
    "sqs-poller-efficiency" => await Pipeline.Benchmarks.Sqs.SqsPollerEfficiency.RunAsync(args[1..]),
    "kinesis-throughput" => await Pipeline.Benchmarks.Kinesis.KinesisThroughput.RunAsync(args[1..]),
    "lambda-cold-start" => await Pipeline.Benchmarks.Lambda.ColdStartHarness.RunAsync(args[1..]),
    "client-throughput" => await Pipeline.Benchmarks.Client.ClientThroughput.RunAsync(args[1..]),
    "dedup-cost" => await Pipeline.Benchmarks.DedupCost.DedupCostHarness.RunAsync(args[1..]),
    _ => RunBenchmarkDotNet(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EngineThroughputBenchmark).Assembly).Run(args);
    return 0;
}
