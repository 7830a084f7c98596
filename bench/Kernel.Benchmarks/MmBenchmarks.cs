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
        return k.Memory.TotalRamPages;
    }
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class PageAllocBenchmarks
{
    private LinuxKernel _k = null!;
    private MemorySubsystem _mm = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free, Memory = new MemoryOptions { MemoryBytes = 1L << 30 } });
        _k.Machine.EnterHostContext();
        _mm = _k.Memory;
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

/// <summary>
/// The same faults as a program takes them: UserTask.Touch sweeps 4,096 fresh pages (translate,
/// fault, tracepoint, accounting), then MADV_DONTNEED zaps them for the next sweep. Includes the
/// machine's dispatch and the madvise, so it bounds the whole user-visible cost per fault.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 10)]
public class UserFaultBenchmarks
{
    private const int Pages = 4_096; // 16 MiB
    private LinuxKernel _k = null!;
    private long _sweeps;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free, Memory = new MemoryOptions { MemoryBytes = 1L << 30 } });
        _k.Spawn("sweeper", async self =>
        {
            long a = await self.Mmap(0, Pages * 4096L, 3, 0x22);
            while (true)
            {
                await self.Touch(a, Pages * 4096L, write: true);
                await self.Madvise(a, Pages * 4096L, Kernel.Mm.Memory.Madv.MADV_DONTNEED);
                _sweeps++;
                await self.Compute(1_000);
            }
        });
    }

    [Benchmark(OperationsPerInvoke = Pages, Description = "anonymous write fault through UserTask.Touch (with madvise), per fault")]
    public long TouchSweep()
    {
        long target = _sweeps + 1;
        _k.RunUntil(() => _sweeps >= target, 1_000_000_000_000);
        return _sweeps;
    }
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 10, iterationCount: 15, invocationCount: 1)] // enough calls for tier-1 JIT of the copy loop
public class ForkBenchmarks
{
    private LinuxKernel _k = null!;
    private Kernel.Mm.Memory.MmStruct _mm = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free, Memory = new MemoryOptions { MemoryBytes = 4L << 30, Costs = Kernel.Mm.MmCosts.Free } });
        _k.Machine.EnterHostContext();
        _mm = _k.MmOf(_k.Init)!;
        long a = _mm.DoMmapAnon(0, 1L << 30, 3, 0x22);
        // Written pages, as a program's stores would leave them (2.6.20's MAP_POPULATE does not
        // populate a private mapping): 262,144 anonymous pages mapped.
        _mm.MakePagesPresent(a, a + (1L << 30), write: true);
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

/// <summary>
/// The seeds' shared-file scenario, scaled: 500 processes map the same file (16 MiB here; the
/// per-mapping figures scale linearly to 1 GiB) and touch every page. Reports the emulated
/// memory each reverse-map mode spends and times finding every PTE of one page (try_to_unmap's walk).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 10)]
public class SharedFileRmapBenchmarks
{
    public const int Procs = 500;
    public const int FilePages = 4096;
    private LinuxKernel _k = null!;
    private int _pfn;

    [Params(Kernel.Mm.Rmap.RmapMode.ObjRmap, Kernel.Mm.Rmap.RmapMode.PteChain, Kernel.Mm.Rmap.RmapMode.None)]
    public Kernel.Mm.Rmap.RmapMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions
        {
            Cpus = 1,
            PidMax = 4096,
            Costs = CostTable.Free,
            Memory = new MemoryOptions { MemoryBytes = 3L << 30, Rmap = Mode },
        });
        _k.Spawn("parent", async self =>
        {
            int fd = (int)await self.Open("/shared", Kernel.Mm.Filemap.OpenFlags.O_CREAT | Kernel.Mm.Filemap.OpenFlags.O_RDWR);
            await self.Ftruncate(fd, FilePages * 4096L);
            for (int i = 0; i < Procs; i++)
            {
                await self.Fork(async c =>
                {
                    long a = await c.Mmap(0, FilePages * 4096L, 1, 1, fd);
                    await c.Touch(a, FilePages * 4096L, write: false);
                    await c.Pause();
                });
            }
            await self.Pause();
        });
        _k.Run(30_000_000_000);
        var mm = _k.Memory;
        _pfn = mm.Shmem.Names["/shared"].Mapping.PageTree[0];
        long mappings = (long)Procs * FilePages;
        long rmapBytes = mm.Rmap.PteChainCachep.InUseObjs * mm.Rmap.SizeofPteChain
            + mm.Rmap.AnonVmaCachep.InUseObjs * Kernel.Mm.Rmap.ReverseMap.SizeofAnonVma;
        var r = mm.Rmap.FindPtes(_pfn);
        Console.WriteLine($"// rmap {Mode}: {mappings} mappings, reverse-map memory {rmapBytes} bytes = {(double)rmapBytes / mappings:0.00} bytes per mapping; page tables {mm.PageTablePages * 4} KiB; finding one page's {r.Ptes.Count} PTEs visits {r.PtesVisited} PTEs");
    }

    [Benchmark(Description = "find every PTE of one shared page (500 mappings)")]
    public int FindPtes() => _k.Memory.Rmap.FindPtes(_pfn).Ptes.Count;
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class MapCountBenchmarks
{
    /// <summary>One program maps one page at a time, without a hint, until max_map_count stops it.</summary>
    [Benchmark(Description = "65,530 one-page mmaps without a hint (to max_map_count), boot included")]
    public long FillToMaxMapCount()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Memory = new MemoryOptions { MemoryBytes = 64L << 20 } });
        long n = 0;
        k.Spawn("mapper", async self =>
        {
            while (await self.Mmap(0, 4096, (n & 1) == 0 ? 1 : 3, 0x22) > 0)
            {
                n++;
            }
        });
        k.RunUntilIdle();
        return n;
    }
}
