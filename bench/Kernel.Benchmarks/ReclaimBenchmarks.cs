// Page reclaim's host cost (issue 10's target: shrink_zone scans at least 20 M pages per host
// second on a 4 GiB machine). Each invocation fills the zone's inactive list with 256 Ki clean,
// unmapped page cache pages of a block device (1 GiB), then shrink_zone at priority 0 scans and
// frees every one of them: isolate, shrink_page_list's checks and page_referenced, remove_mapping,
// and the free. The filling is not timed.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Vmscan;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 2, iterationCount: 10, invocationCount: 1)]
public class ReclaimBenchmarks
{
    private const int Pages = 256 * 1024;
    private LinuxKernel _k = null!;
    private AddressSpace _mapping = null!;
    private Zone _zone = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions
        {
            Cpus = 1,
            Hz = 1000,
            Memory = new MemoryOptions { MemoryBytes = 4L << 30, Arch = Architecture.Flat64, Costs = MmCosts.Free },
        });
        _k.Machine.EnterHostContext();
        var disk = _k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(8L << 30));
        _mapping = _k.Block.BdevOf(disk).Mapping;
        _zone = _k.Memory.Zones.OrderByDescending(z => z.PresentPages).First();
    }

    [IterationSetup]
    public void Fill()
    {
        var mem = _k.Memory;
        _k.Machine.EnterHostContext();
        for (long i = 0; i < Pages; i++)
        {
            int pfn = GenericFile.AddToPageCache(mem, _mapping, i, Gfp.GFP_KERNEL);
            mem.PageAt(pfn).Set(PageFlag.PG_uptodate);
        }
        mem.LruAddDrainAll();
    }

    [Benchmark(OperationsPerInvoke = Pages)]
    public long ShrinkZoneScansAndFreesCleanPages()
    {
        var mem = _k.Memory;
        _k.Machine.EnterHostContext();
        var sc = new ScanControl { GfpMask = Gfp.GFP_KERNEL, Swappiness = 60 };
        long freed = 0;
        while (_zone.NrInactive > 0)
        {
            var t = mem.Reclaim!.ShrinkZone(0, _zone, sc);
            freed += t.IsCompletedSuccessfully ? t.Result : throw new InvalidOperationException("shrink_zone slept");
        }
        return freed;
    }
}
