// The whole VM under a trace (issue 10's target: at least libCacheSim's LRU model on the same
// machine, about 9-10 M references per host second): Zipf(1.0) replayed by one process as loads
// through a RAM disk's page cache, so a resident reference is a page-table walk and a miss is a
// fault, reclaim and a read. Shapes: 1 M pages at 100 k and at 10 k frames (the target's), and
// 8 Ki pages with frames for all of them, where every reference after a page's first is a hit,
// which separates what a hit costs from what a miss costs. Each invocation boots a fresh kernel
// and replays 2 M references (boot and cold misses included); the traces are made once.
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
    private int _frames;

    /// <summary>"pages/frames".</summary>
    [Params("1048576/100000", "1048576/10000", "8192/16384")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('/');
        _frames = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        _trace = PageTrace.Zipf(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), References, 1.0, seed: 7).Dense();
    }

    [Benchmark(OperationsPerInvoke = References)]
    public long ZipfReplayThroughTheWholeVm()
    {
        var r = TraceReplay.Run(_trace, new TraceReplayOptions
        {
            Frames = _frames,
            Kernel = new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { Arch = Architecture.Flat64, Costs = MmCosts.Free } },
        });
        return r.Hits;
    }
}
