// The whole VM under a trace (issue 10's target: at least libCacheSim's LRU model on the same
// machine, about 9-10 M references per host second): Zipf(1.0) over 1 M pages replayed by one
// process as loads through a RAM disk's page cache at 100 k and 10 k frames, so a resident
// reference is a page-table walk and a miss is a fault, reclaim and a read. Each invocation boots a
// fresh kernel (about 0.1 s of the figure) and replays 2 M references; the trace is made once.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kernel.Mm;
using Kernel.Workloads;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class TraceReplayBenchmarks
{
    private const int References = 2_000_000;
    private PageTrace _trace = null!;

    [Params(100_000, 10_000)]
    public int Frames { get; set; }

    [GlobalSetup]
    public void Setup() => _trace = PageTrace.Zipf(1 << 20, References, 1.0, seed: 7).Dense();

    [Benchmark(OperationsPerInvoke = References)]
    public long ZipfReplayThroughTheWholeVm()
    {
        var r = TraceReplay.Run(_trace, new TraceReplayOptions
        {
            Frames = Frames,
            Kernel = new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { Arch = Architecture.Flat64, Costs = MmCosts.Free } },
        });
        return r.Hits;
    }
}
