// BenchmarkDotNet entry point: `dotnet run -c Release --project bench/Kernel.Benchmarks -- --filter '*'`.
// `-- shared-file [MiB]` instead runs the seeds' full shared-file scenario once and prints its
// figures (emulated memory per rmap mode, PTEs visited): it takes minutes and several GB of host
// memory at 1024 MiB, so it is a report, not a BenchmarkDotNet job.
using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "shared-file")
{
    int mib = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1024;
    Kernel.Benchmarks.SharedFileReport.Run(mib, Console.Out);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Kernel.Benchmarks.ScheduleBenchmarks).Assembly).Run(args);
