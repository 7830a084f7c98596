// Andrea Arcangeli's VM of 2.4.10 (as Moshe Bar's "Pillow Talk" seed describes it and 2.4.17's
// mm/vmscan.c implements it), behind the ops table. Two lists; mark_page_accessed's two-touch
// promotion (2.6 inherited it); shrink_caches keeps the active list about two thirds of the cache
// — each call moves nr_pages * nr_active / (2 * nr_inactive) pages from the active tail, a
// referenced one rotating instead — then shrink_cache walks nr_inactive / priority pages from the
// inactive tail: a clean unused page is freed, a dirty one written at once through writepage,
// and a page still mapped counted; past max_mapped = min(nr_pages << (10 - priority),
// max_scan / 10) of those, swap_out (SwapOut24) takes pages from page tables and the pass ends.
// There is no reverse map: a mapped page leaves memory only through the page-table scan. The
// priority runs 6 to 1 (2.6's 12 to 0 are folded onto it); kswapd and direct reclaim come through
// 2.6.20's entry points, which balance each zone to pages_high as 2.4.17's kswapd did.
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Vmscan;

/// <summary>2.4.10's VM (Arcangeli).</summary>
public sealed class Vm2410 : ReplacementPolicyOps
{
    /// <summary>2.4's DEF_PRIORITY: a sixth of the inactive list per pass at first.</summary>
    public const int DEF_PRIORITY_24 = 6;

    internal Vm2410(PageReclaim reclaim, MemorySubsystem mem)
        : base(reclaim, mem)
    {
    }

    public override ReplacementPolicy Kind => ReplacementPolicy.Vm2410;

    public override string Name => "2.4.10";

    /// <summary>Pages refill_inactive moved, pages shrink_cache wrote and freed, and its calls of swap_out.</summary>
    public long Refilled { get; private set; }

    public long Written { get; private set; }

    public long Freed { get; private set; }

    public long SwapOutCalls { get; private set; }

    internal override async ValueTask<long> ShrinkZone(int priority, Zone zone, ScanControl sc)
    {
        int p = Math.Clamp(priority, 1, DEF_PRIORITY_24);
        int nrPages = sc.SwapClusterMax;
        // "try to keep the active list 2/3 of the size of the cache"
        long ratio = nrPages * zone.NrActive / ((zone.NrInactive + 1) * 2);
        RefillInactive(zone, ratio);
        long freed = ShrinkCache(zone, nrPages, p, sc);
        zone.PgSteal += freed;
        if (sc.IsKswapd)
        {
            Reclaim.NoteKswapdSteal(freed);
        }
        if (Mem.Machine.Executing is not null)
        {
            await Mem.Machine.CondResched();
        }
        return freed;
    }

    /// <summary>refill_inactive: `nr` pages from the active tail; a referenced one rotates, the others go inactive marked referenced.</summary>
    private void RefillInactive(Zone zone, long nr)
    {
        var map = Mem.MemMap;
        long scanned = 0;
        while (nr-- > 0 && !zone.ActiveList.IsEmpty)
        {
            int pfn = zone.ActiveList.Tail;
            ref var page = ref map[pfn];
            scanned++;
            if (page.Test(PageFlag.PG_referenced))
            {
                page.Clear(PageFlag.PG_referenced);
                zone.ActiveList.Del(map, pfn);
                zone.ActiveList.AddHead(map, pfn);
                continue;
            }
            zone.ActiveList.Del(map, pfn);
            zone.NrActive--;
            page.Clear(PageFlag.PG_active);
            Mem.AddPageToInactiveList(zone, pfn);
            page.Set(PageFlag.PG_referenced);
            Refilled++;
            Mem.PgDeactivate++;
        }
        zone.PgRefill += scanned;
        Mem.Machine.ChargeLock(zone.LruLock, Mem.Machine.ThisCpu, scanned * Mem.Options.Costs.LruMoveNs);
    }

    /// <summary>shrink_cache: free up to `nrPages` from the inactive tail; too many mapped pages met start swap_out and end the pass. Returns the pages freed.</summary>
    private long ShrinkCache(Zone zone, int nrPages, int priority, ScanControl sc)
    {
        var map = Mem.MemMap;
        long maxScan = zone.NrInactive / priority;
        long maxMapped = Math.Min((long)nrPages << (10 - priority), maxScan / 10);
        long scanned = 0, freed = 0;
        bool mayFs = (sc.GfpMask & Gfp.__GFP_FS) != 0;
        while (--maxScan >= 0 && !zone.InactiveList.IsEmpty && freed < nrPages)
        {
            int pfn = zone.InactiveList.Tail;
            ref var page = ref map[pfn];
            zone.InactiveList.Del(map, pfn);
            zone.InactiveList.AddHead(map, pfn); // to the head first, as 2.4 did
            scanned++;
            Mem.Machine.Charge(Mem.Options.Costs.ReclaimPageNs);
            var mapping = Mem.PageMapping(pfn);
            bool freeable = page.Count == 1 && page.MapCount < 0 && mapping is not null;
            if (!freeable)
            {
                if (--maxMapped >= 0)
                {
                    continue;
                }
                // "Alert! We've found too many mapped pages on the inactive list, so we start swapping out now!"
                if (sc.MaySwap)
                {
                    SwapOutCalls++;
                    Mem.SwapOut24.SwapOut(PageReclaim.SWAP_CLUSTER_MAX);
                }
                break;
            }
            if (page.Test(PageFlag.PG_writeback) || !Mem.PageWait.TryLockPage(pfn))
            {
                continue; // I/O in progress
            }
            if (page.Test(PageFlag.PG_dirty))
            {
                if (mayFs && sc.MayWritepage && Mem.Writeback.ClearPageDirtyForIo(mapping!, pfn)
                    && mapping!.AOps.WritePage(Mem, mapping, pfn) != AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE)
                {
                    Written++;
                    Reclaim.NoteVmscanWrite();
                }
                Mem.PageWait.UnlockPage(pfn);
                continue;
            }
            zone.InactiveList.Del(map, pfn);
            zone.NrInactive--;
            freed += Reclaim.FreeUnlistedPage(zone, pfn, mapping!) ? 1 : 0;
        }
        zone.PagesScanned += scanned;
        sc.NrScanned += scanned;
        if (sc.IsKswapd)
        {
            zone.PgScanKswapd += scanned;
        }
        else
        {
            zone.PgScanDirect += scanned;
        }
        Mem.Machine.ChargeLock(zone.LruLock, Mem.Machine.ThisCpu, scanned * Mem.Options.Costs.LruMoveNs);
        Freed += freed;
        return freed;
    }
}
