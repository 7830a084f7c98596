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

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 10)]
public class FaultBenchmarks
{
    private const int Pages = 16_384; // 64 MiB
    private LinuxKernel _k = null!;
    private Kernel.Mm.Memory.MmStruct _mm = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free, Memory = new MemoryOptions { MemoryBytes = 1L << 30 } });
        _k.Machine.EnterHostContext();
        _mm = _k.MmOf(_k.Init)!;
    }

    [Benchmark(OperationsPerInvoke = Pages, Description = "anonymous write fault (new zeroed page), per fault")]
    public void AnonWriteFaults()
    {
        long a = _mm.DoMmapAnon(0, (long)Pages * 4096, 3, 0x22);
        for (int i = 0; i < Pages; i++)
        {
            _mm.HandleFault(a + i * 4096L, write: true);
        }
        _mm.DoMunmap(a, (long)Pages * 4096);
    }
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class ForkBenchmarks
{
    private LinuxKernel _k = null!;
    private Kernel.Mm.Memory.MmStruct _mm = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free, Memory = new MemoryOptions { MemoryBytes = 4L << 30 } });
        _k.Machine.EnterHostContext();
        _mm = _k.MmOf(_k.Init)!;
        long a = _mm.DoMmapAnon(0, 1L << 30, 3, 0x22 | 0x8000); // MAP_POPULATE: 262,144 pages mapped
        if (a < 0 || _mm.AnonRss < 262_144)
        {
            throw new InvalidOperationException($"populate failed: {a}, rss {_mm.AnonRss}");
        }
    }

    [Benchmark(Description = "fork (dup_mmap, COW) of a process with 1 GiB mapped, then its exit")]
    public long ForkOneGib()
    {
        var child = _mm.Dup() ?? throw new InvalidOperationException("fork failed");
        long rss = child.AnonRss;
        child.Put();
        return rss;
    }
}
