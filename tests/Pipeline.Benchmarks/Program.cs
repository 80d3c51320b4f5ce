using BenchmarkDotNet.Running;
using Pipeline.Benchmarks;

// dotnet run -c Release --project tests/Pipeline.Benchmarks -- function-vs-bare <set-dir> [threads...]
// dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*EngineThroughput*'
if (args.Length > 0 && args[0] == "function-vs-bare")
{
    return FunctionVersusBare.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(EngineThroughputBenchmark).Assembly).Run(args);
return 0;
