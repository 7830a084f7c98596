// The trace driver: a page-reference trace replayed through the whole VM. One process maps a
// region (a block device's pages read through the page cache, or anonymous memory backed by a
// swap area) and touches page r of it for each reference r; every reference is an access through
// the page tables, and a page not in memory comes back through a fault, with reclaim, writeback
// and swap doing what they do. The machine is sized so that about `Frames` page frames are left
// for the trace: a balloon of kernel pages, off the LRU lists, holds the rest (less the free pages
// kswapd keeps near pages_high). A reference is a hit when its page was referenced before and the access did not
// have to read it (no major fault); the first reference of a page is a cold miss.
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Mm.Swap;

namespace Kernel.Workloads;

/// <summary>What TraceReplay.Run sets up.</summary>
public sealed record TraceReplayOptions
{
    /// <summary>Page frames left for the trace's pages.</summary>
    public int Frames { get; init; } = 1000;

    /// <summary>Replay over anonymous memory with a swap area (pages are written on first use) instead of a block device's page cache.</summary>
    public bool Anonymous { get; init; }

    /// <summary>The kernel's options (memory size and architecture are set by the driver; the rmap mode, costs and reclaim options are taken from here).</summary>
    public KernelOptions Kernel { get; init; } = new();

    /// <summary>Called with the booted kernel before the replay (to set /proc/sys/vm tunables).</summary>
    public Action<LinuxKernel>? Configure { get; init; }

    /// <summary>Run the kernel's invariant checker after the replay and throw if it finds a problem.</summary>
    public bool CheckInvariants { get; init; }

    /// <summary>Called with the kernel after the replay, before it is dropped (to read counters).</summary>
    public Action<LinuxKernel>? Inspect { get; init; }
}

/// <summary>A replay's outcome, with the reclaim work it took.</summary>
public sealed record TraceReplayResult(
    string Trace,
    int Frames,
    long References,
    long Hits,
    long ColdMisses,
    long MajorFaults,
    long PagesScanned,
    long PagesStolen,
    long SwapOuts,
    long SwapIns,
    long ResidentPages,
    long SimulatedNs)
{
    public double HitRatio => References == 0 ? 0 : (double)Hits / References;
}

public static class TraceReplay
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    /// <summary>Replay `trace` (renumbered densely) on a fresh kernel.</summary>
    public static TraceReplayResult Run(PageTrace trace, TraceReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var o = options ?? new TraceReplayOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Frames);
        var dense = trace.Dense();
        var refs = dense.References;
        long distinct = refs.Count == 0 ? 1 : refs.Max() + 1;
        long memBytes = Math.Max(16L << 20, ((o.Frames * Page) + (12L << 20) + (1L << 20) - 1) & ~((1L << 20) - 1));
        var k = LinuxKernel.Boot(o.Kernel with { Memory = o.Kernel.Memory with { MemoryBytes = memBytes } });
        k.Proc.Write("/proc/sys/vm/overcommit_memory", "1");
        long areaPages = distinct + 64;
        var store = new MemoryBlockStore(areaPages * Page);
        if (o.Anonymous)
        {
            store.Write(0, SwapHeader.Make(areaPages));
        }
        k.Block.AttachDisk("sdt", new RamDiskModel(), store);
        k.Proc.Write("/proc/sys/vm/page-cluster", "0"); // no swap readahead: misses are the policy's
        o.Configure?.Invoke(k);
        var mem = k.Memory;
        long hits = 0, cold = 0, maj = 0, resident = 0, startNs = 0, endNs = 0;
        long scannedBefore = 0, stolenBefore = 0, outBefore = 0, inBefore = 0;
        var balloonPages = new List<int>();
        var t = k.Spawn("replay", async self =>
        {
            if (o.Anonymous && await self.Swapon("/dev/sdt") != 0)
            {
                throw new InvalidOperationException("swapon of the replay's swap area failed");
            }
            long a;
            if (o.Anonymous)
            {
                a = await self.Mmap(0, distinct * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            }
            else
            {
                int fd = (int)await self.Open("/dev/sdt", Kernel.Mm.Filemap.OpenFlags.O_RDONLY);
                a = await self.Mmap(0, distinct * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
                // No read-around: a miss reads only its own page, so misses are the policy's.
                await self.Madvise(a, distinct * Page, Kernel.Mm.Memory.Madv.MADV_RANDOM);
            }
            // The balloon: a driver's worth of kernel pages (as virtio_balloon takes them: off the
            // LRU lists, so no policy scans or counts them) holds what memory the trace must not
            // have. Reclaim keeps the free pages between pages_low and pages_high, so the trace
            // gets what is above their middle.
            long free = mem.Zones.Sum(z => z.FreePages) - mem.Zones.Sum(z => (z.PagesLow + z.PagesHigh) / 2);
            long balloon = Math.Max(0, free - o.Frames);
            for (long i = 0; i < balloon; i++)
            {
                int pfn = await mem.AllocPagesAsync(Gfp.GFP_KERNEL, 0);
                if (pfn < 0)
                {
                    throw new InvalidOperationException("the balloon could not take its pages");
                }
                balloonPages.Add(pfn);
            }
            var seen = new bool[distinct];
            scannedBefore = mem.Zones.Sum(z => z.PgScanKswapd + z.PgScanDirect);
            stolenBefore = mem.Zones.Sum(z => z.PgSteal);
            outBefore = mem.Swap.PswpOut;
            inBefore = mem.Swap.PswpIn;
            startNs = k.Machine.Now;
            foreach (long p in refs)
            {
                long before = mem.PgMajFault;
                if (o.Anonymous && !seen[p])
                {
                    await self.Store(a + p * Page, p);
                }
                else
                {
                    await self.Load<byte>(a + p * Page);
                }
                bool major = mem.PgMajFault != before;
                maj += major ? 1 : 0;
                if (!seen[p])
                {
                    seen[p] = true;
                    cold++;
                }
                else if (!major)
                {
                    hits++;
                }
            }
            endNs = k.Machine.Now;
            foreach (int pfn in balloonPages)
            {
                mem.FreePages(pfn, 0);
            }
            // Resident, anonymous: pages mapped (RSS) plus swap cache pages no PTE maps (a mapped page
            // in the swap cache is counted once).
            resident = o.Anonymous ? self.Mm!.AnonRss + mem.Swap.SwapperSpace.PageTree.Values.Count(pfn => mem.PageAt(pfn).MapCount < 0) : k.Block.BdevOf(k.Block.Disks.Single(d => d.Name == "sdt")).Mapping.NrPages;
            await self.Exit(0);
        });
        if (!k.RunUntilExit(t) || t.ExitCode != 0)
        {
            throw new InvalidOperationException($"the replay did not finish (exit {t.ExitCode}; {string.Join("; ", mem.Oom.Log.Concat(mem.Swap.Log))})");
        }
        if (o.CheckInvariants && k.CheckInvariants() is { Count: > 0 } problems)
        {
            throw new InvalidOperationException("invariants violated after the replay: " + string.Join("; ", problems.Take(5)));
        }
        o.Inspect?.Invoke(k);
        return new TraceReplayResult(
            trace.Name, o.Frames, refs.Count, hits, cold, maj,
            mem.Zones.Sum(z => z.PgScanKswapd + z.PgScanDirect) - scannedBefore,
            mem.Zones.Sum(z => z.PgSteal) - stolenBefore,
            mem.Swap.PswpOut - outBefore, mem.Swap.PswpIn - inBefore,
            resident, endNs - startNs);
    }
}
