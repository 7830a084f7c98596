// Linux 2.6.20 mm/page_alloc.c: __alloc_pages (watermark passes over the zonelist),
// get_page_from_freelist, zone_watermark_ok, buffered_rmqueue with the per-CPU hot/cold lists,
// and the free side (__free_pages, free_hot_cold_page, free_pages_bulk). This is the synchronous
// part; where __alloc_pages would enter direct reclaim, an allocation inside a synchronous
// section records the wait and fails quietly so its caller can sleep and retry (AllocSlow.cs).
// Without a reclaimer, or once reclaim made no progress, the allocation fails with Linux's
// warning and the caller takes its out-of-memory path. Nothing pretends to free memory.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Mm;

[Flags]
internal enum AllocFlags
{
    ALLOC_NO_WATERMARKS = 0x01,
    ALLOC_WMARK_MIN = 0x02,
    ALLOC_WMARK_LOW = 0x04,
    ALLOC_WMARK_HIGH = 0x08,
    ALLOC_HARDER = 0x10,
    ALLOC_HIGH = 0x20,
    ALLOC_CPUSET = 0x40,
}

public sealed partial class MemorySubsystem
{
    /// <summary>
    /// memory_pressure (2.4.0): up by a page for each page allocated, down by one for each freed (not
    /// below the CPU count), decayed by a 64th a second under the 2.4.0 design, whose inactive
    /// target it sets. Kept under every design; only 2.4.0's reads it.
    /// </summary>
    public long MemoryPressure { get; internal set; }

    /// <summary>Failed allocations (the "page allocation failure" warnings), for tests and /proc.</summary>
    public long AllocFailures { get; private set; }

    /// <summary>alloc_pages: the first pfn of 2^order contiguous free frames, or -1.</summary>
    public int AllocPages(Gfp gfp, int order)
    {
        if ((uint)order >= Zone.MAX_ORDER)
        {
            return -1;
        }
        bool wait = gfp.CanWait();
        if (wait)
        {
            Machine.MightSleepCheck("mm/page_alloc.c:__alloc_pages");
        }
        var zonelist = ZonelistFor(gfp);
        if (zonelist.Length == 0)
        {
            return -1;
        }
        int pfn = GetPageFromFreelist(gfp, order, zonelist, AllocFlags.ALLOC_WMARK_LOW | AllocFlags.ALLOC_CPUSET);
        if (pfn >= 0)
        {
            return pfn;
        }
        if (Reclaim is { } reclaim)
        {
            if (order == 0 && reclaim.ReclaimCleanPages(zonelist))
            {
                pfn = GetPageFromFreelist(gfp, order, zonelist, AllocFlags.ALLOC_WMARK_MIN | AllocFlags.ALLOC_CPUSET);
                if (pfn >= 0)
                {
                    return pfn; // 2.4.0's design: an inactive_clean page counts as free
                }
            }
            foreach (var z in zonelist)
            {
                reclaim.WakeupKswapd(z, order);
            }
        }
        var current = Machine.ThisCpu.Curr;
        bool inInterrupt = PreemptCount.InInterrupt(current.PreemptCount);
        var flags = AllocFlags.ALLOC_WMARK_MIN;
        if ((current.Prio < 100 && !current.IsIdleTask && !inInterrupt) || !wait)
        {
            flags |= AllocFlags.ALLOC_HARDER;
        }
        if ((gfp & Gfp.__GFP_HIGH) != 0)
        {
            flags |= AllocFlags.ALLOC_HIGH;
        }
        pfn = GetPageFromFreelist(gfp, order, zonelist, flags);
        if (pfn >= 0)
        {
            return pfn;
        }
        // PF_MEMALLOC tasks (the ones freeing memory) and the OOM killer's victim may dip below every watermark.
        if (((current.Flags & TaskFlags.PF_MEMALLOC) != 0 || (current.ThreadFlags & ThreadInfoFlags.TIF_MEMDIE) != 0)
            && !inInterrupt && (gfp & Gfp.__GFP_NOMEMALLOC) == 0)
        {
            pfn = GetPageFromFreelist(gfp, order, zonelist, AllocFlags.ALLOC_NO_WATERMARKS);
            if (pfn >= 0)
            {
                return pfn;
            }
        }
        else if (wait && !inInterrupt && DirectReclaim is not null
            && DeferWait(new MmWait(MmWaitKind.DirectReclaim, Gfp: gfp, Order: order)))
        {
            // The caller's section sleeps in direct reclaim (SleepFor) and runs again.
            return -1;
        }
        else if (wait && (gfp & Gfp.__GFP_FS) != 0 && (gfp & Gfp.__GFP_NORETRY) == 0)
        {
            // No reclaim made progress (or there is none): one last try at pages_high before
            // out_of_memory(), which arrives with the OOM killer.
            pfn = GetPageFromFreelist(gfp, order, zonelist, AllocFlags.ALLOC_WMARK_HIGH | AllocFlags.ALLOC_CPUSET);
            if (pfn >= 0)
            {
                return pfn;
            }
        }
        AllocFailures++;
        if ((gfp & Gfp.__GFP_NOWARN) == 0)
        {
            Machine.RecordWarning(Machine.ThisCpu, $"{current.Comm}: page allocation failure. order:{order}, mode:0x{(uint)gfp:x}");
        }
        return -1;
    }

    private int GetPageFromFreelist(Gfp gfp, int order, Zone[] zonelist, AllocFlags flags)
    {
        int classzone = zonelist[0].Index;
        foreach (var zone in zonelist)
        {
            if ((flags & AllocFlags.ALLOC_NO_WATERMARKS) == 0)
            {
                long mark = (flags & AllocFlags.ALLOC_WMARK_MIN) != 0 ? zone.PagesMin
                    : (flags & AllocFlags.ALLOC_WMARK_LOW) != 0 ? zone.PagesLow
                    : zone.PagesHigh;
                if (!ZoneWatermarkOk(zone, order, mark, classzone, flags))
                {
                    continue;
                }
            }
            int pfn = BufferedRmqueue(zone, order, gfp);
            if (pfn >= 0)
            {
                return pfn;
            }
        }
        return -1;
    }

    /// <summary>zone_watermark_ok: enough free pages above the mark, at this order and every lower one.</summary>
    internal bool ZoneWatermarkOk(Zone z, int order, long mark, int classzoneIdx, AllocFlags flags)
    {
        long min = mark;
        long freePages = z.FreePages - (1L << order) + 1;
        if ((flags & AllocFlags.ALLOC_HIGH) != 0)
        {
            min -= min / 2;
        }
        if ((flags & AllocFlags.ALLOC_HARDER) != 0)
        {
            min -= min / 4;
        }
        if (freePages <= min + z.LowmemReserve[classzoneIdx])
        {
            return false;
        }
        for (int o = 0; o < order; o++)
        {
            freePages -= z.FreeArea[o].NrFree << o;
            min >>= 1;
            if (freePages <= min)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>buffered_rmqueue: order-0 from this CPU's hot or cold list (refilled in batches), else the buddy lists.</summary>
    private int BufferedRmqueue(Zone zone, int order, Gfp gfp)
    {
        var cpu = Machine.ThisCpu;
        int pfn;
        if (order == 0)
        {
            var pcp = zone.Pageset[cpu.Id][(gfp & Gfp.__GFP_COLD) != 0];
            if (pcp.Count == 0)
            {
                Machine.ChargeLock(zone.Lock, cpu, Options.Costs.ZoneLockHoldNs);
                RmqueueBulk(zone, pcp);
                if (pcp.Count == 0)
                {
                    return -1;
                }
            }
            pfn = pcp.Head;
            PcpDel(pcp, pfn);
            Machine.Charge(Options.Costs.PageAllocNs);
        }
        else
        {
            Machine.ChargeLock(zone.Lock, cpu, Options.Costs.ZoneLockHoldNs);
            pfn = Rmqueue(zone, order);
            if (pfn < 0)
            {
                return -1;
            }
        }
        zone.PgAlloc += 1L << order;
        MemoryPressure += 1L << order; // 2.4.0: "allocations put pressure on the VM subsystem"
        PrepNewPage(pfn, order, gfp);
        if (Tracepoints.PageAlloc.Enabled)
        {
            Tracepoints.PageAlloc.Emit(new MmPageAlloc(Machine.Now, cpu.Id, pfn, order, (uint)gfp, Free: false));
        }
        return pfn;
    }

    /// <summary>prep_new_page: the head gets a reference; __GFP_ZERO drops old contents.</summary>
    private void PrepNewPage(int pfn, int order, Gfp gfp)
    {
        for (int i = 0; i < 1 << order; i++)
        {
            ref var page = ref MemMap[pfn + i];
            if (page.Count != 0 || page.MapCount != -1 || page.Mapping != 0 || page.Test(PageFlag.PG_buddy))
            {
                ThrowBadPageAtAlloc(pfn + i);
            }
            page.Flags &= ~((1u << (int)PageFlag.PG_referenced) | (1u << (int)PageFlag.PG_dirty) | (1u << (int)PageFlag.PG_uptodate)
                | (1u << (int)PageFlag.PG_active) | (1u << (int)PageFlag.PG_private));
            page.SetAge(0);
            page.Private = 0;
            if ((gfp & Gfp.__GFP_ZERO) != 0)
            {
                ReleaseContents(ref page);
            }
        }
        if ((gfp & Gfp.__GFP_ZERO) != 0)
        {
            Machine.Charge(Options.Costs.ClearPageNs << order); // clear_highpage for each page
        }
        MemMap[pfn].Count = 1; // set_page_refcounted
    }

    private void RmqueueBulk(Zone zone, PerCpuPages pcp)
    {
        for (int i = 0; i < pcp.Batch; i++)
        {
            int pfn = Rmqueue(zone, 0);
            if (pfn < 0)
            {
                break;
            }
            PcpAddTail(pcp, pfn);
        }
    }

    private void PcpAddHead(PerCpuPages pcp, int pfn)
    {
        pcp.List.AddHead(MemMap, pfn);
        pcp.Count++;
    }

    private void PcpAddTail(PerCpuPages pcp, int pfn)
    {
        pcp.List.AddTail(MemMap, pfn);
        pcp.Count++;
    }

    private void PcpDel(PerCpuPages pcp, int pfn)
    {
        pcp.List.Del(MemMap, pfn);
        pcp.Count--;
    }

    // ------------------------------------------------------------------ freeing

    /// <summary>__free_pages: drop a reference; at zero the block goes back (order 0 via the hot list).</summary>
    public void FreePages(int pfn, int order)
    {
        ref var page = ref MemMap[pfn];
        if (page.Count <= 0)
        {
            ThrowBadFreeCount(pfn);
        }
        if (--page.Count != 0)
        {
            return;
        }
        if (MemoryPressure > Machine.Cpus.Length)
        {
            MemoryPressure--;
        }
        if (Tracepoints.PageAlloc.Enabled)
        {
            Tracepoints.PageAlloc.Emit(new MmPageAlloc(Machine.Now, Machine.ThisCpu.Id, pfn, order, 0, Free: true));
        }
        if (order == 0)
        {
            FreeHotColdPage(pfn, cold: false);
        }
        else
        {
            FreePagesOk(pfn, order);
        }
    }

    /// <summary>free_hot_cold_page: onto this CPU's list; past `high`, a batch goes back to the buddy lists.</summary>
    public void FreeHotColdPage(int pfn, bool cold)
    {
        ref var page = ref MemMap[pfn];
        FreePagesCheck(pfn, ref page);
        var zone = Zones[page.ZoneIndex];
        var cpu = Machine.ThisCpu;
        var pcp = zone.Pageset[cpu.Id][cold];
        zone.PgFree++;
        PcpAddHead(pcp, pfn);
        Machine.Charge(Options.Costs.PageAllocNs);
        if (pcp.Count >= pcp.High)
        {
            Machine.ChargeLock(zone.Lock, cpu, Options.Costs.ZoneLockHoldNs);
            zone.AllUnreclaimable = false; // free_pages_bulk: pages came back, the zone is not stuck
            zone.PagesScanned = 0;
            for (int i = 0; i < pcp.Batch && pcp.Tail >= 0; i++)
            {
                int victim = pcp.Tail;
                PcpDel(pcp, victim);
                FreeOneBlock(zone, victim, 0);
            }
        }
    }

    private void FreePagesOk(int pfn, int order)
    {
        var zone = ZoneOf(pfn);
        for (int i = 0; i < 1 << order; i++)
        {
            FreePagesCheck(pfn + i, ref MemMap[pfn + i]);
        }
        zone.PgFree += 1L << order;
        Machine.ChargeLock(zone.Lock, Machine.ThisCpu, Options.Costs.ZoneLockHoldNs);
        zone.AllUnreclaimable = false; // free_one_page
        zone.PagesScanned = 0;
        FreeOneBlock(zone, pfn, order);
    }

    /// <summary>free_pages_check: a page going back must be unmapped, unowned and unreferenced.</summary>
    private void FreePagesCheck(int pfn, ref Page page)
    {
        if (page.MapCount != -1 || page.Mapping != 0 || page.Count != 0 || page.Test(PageFlag.PG_reserved)
            || page.Test(PageFlag.PG_buddy) || page.Test(PageFlag.PG_lru) || page.Test(PageFlag.PG_locked))
        {
            ThrowBadPageAtFree(pfn);
        }
        ReleaseContents(ref page);
    }

    /// <summary>Return every per-CPU list to the buddy lists (drain_all_pages).</summary>
    public void DrainAllPages()
    {
        foreach (var zone in Zones)
        {
            foreach (var ps in zone.Pageset)
            {
                foreach (var pcp in new[] { ps.Hot, ps.Cold })
                {
                    while (pcp.Tail >= 0)
                    {
                        int victim = pcp.Tail;
                        PcpDel(pcp, victim);
                        FreeOneBlock(zone, victim, 0);
                    }
                }
            }
        }
    }

    // The throw sites live out of line (a ThrowHelper, as System.IO.Pipelines does), so the hot
    // allocation and free paths stay small enough to inline and free of string formatting.
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowBadPageAtAlloc(int pfn)
    {
        ref var page = ref MemMap[pfn];
        throw new KernelBug($"Bad page state in process '{Machine.ThisCpu.Curr.Comm}': pfn {pfn} count {page.Count} mapcount {page.MapCount} mapping {page.Mapping}");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowBadFreeCount(int pfn) => throw new KernelBug($"__free_pages: pfn {pfn} has count {MemMap[pfn].Count}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowBadPageAtFree(int pfn)
    {
        ref var page = ref MemMap[pfn];
        throw new KernelBug($"Bad page state at free: pfn {pfn} flags 0x{page.Flags:x8} count {page.Count} mapcount {page.MapCount} mapping {page.Mapping}");
    }
}
