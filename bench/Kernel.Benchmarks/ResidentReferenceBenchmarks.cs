// The resident half of a full-VM trace replay: Zipf(1.0) over 8 Ki pages, 2 M references, with
// frames for all of them, so after the first touch of each page every reference is a hit (a
// page-table walk and a load, no fault). Against TraceReplayBenchmarks it separates what a hit
// costs from what a miss (fault, reclaim, read) costs. Boot and the cold misses are included.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kernel.Mm;
using Kernel.Workloads;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class ResidentReferenceBenchmarks
{
    private const int References = 2_000_000;
    private PageTrace _trace = null!;

    [GlobalSetup]
    public void Setup() => _trace = PageTrace.Zipf(8192, References, 1.0, seed: 7).Dense();

    [Benchmark(OperationsPerInvoke = References)]
    public long ResidentReferencesThroughThePageTables()
    {
        var r = TraceReplay.Run(_trace, new TraceReplayOptions
        {
            Frames = 16_384,
            Kernel = new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { Arch = Architecture.Flat64, Costs = MmCosts.Free } },
        });
        return r.Hits == r.References - r.ColdMisses ? r.Hits : throw new InvalidOperationException($"{r.References - r.ColdMisses - r.Hits} references missed");
    }
}
