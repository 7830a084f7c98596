// BenchmarkDotNet entry point: `dotnet run -c Release --project bench/Kernel.Benchmarks -- --filter '*'`.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Kernel.Benchmarks.ScheduleBenchmarks).Assembly).Run(args);
