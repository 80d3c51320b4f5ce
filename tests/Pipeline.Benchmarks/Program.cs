using BenchmarkDotNet.Running;

// Run with: dotnet run -c Release --project tests/Pipeline.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Pipeline.Benchmarks.EngineThroughputBenchmark).Assembly).Run(args);
