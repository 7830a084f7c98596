// Memory foundation: booting a 32 GiB machine (8 M struct pages) and the page allocator's paths.
using BenchmarkDotNet.Attributes;
using Kernel.Core;
using Kernel.Mm;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class BootBenchmarks
{
    [Params(1L << 30, 32L << 30)]
    public long MemoryBytes { get; set; }

    [Benchmark(Description = "boot (mem_map, zones, buddy lists), i386 PAE")]
    public long Boot()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 4, Memory = new MemoryOptions { MemoryBytes = MemoryBytes } });
        return k.Mm.TotalRamPages;
    }
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class PageAllocBenchmarks
{
    private LinuxKernel _k = null!;
    private PglistData _mm = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free, Memory = new MemoryOptions { MemoryBytes = 1L << 30 } });
        _k.Machine.EnterHostContext();
        _mm = _k.Mm;
    }

    [Benchmark(Description = "alloc + free of an order-0 page (per-CPU hot list)")]
    public void Order0()
    {
        int p = _mm.AllocPages(Gfp.GFP_KERNEL, 0);
        _mm.FreePages(p, 0);
    }

    [Benchmark(Description = "alloc + free of an order-3 block (buddy split and merge)")]
    public void Order3()
    {
        int p = _mm.AllocPages(Gfp.GFP_KERNEL, 3);
        _mm.FreePages(p, 3);
    }
}
