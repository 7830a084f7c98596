// Linux 2.4.0's page replacement, as Rik van Riel's USENIX 2001 paper (seed 001) describes it and
// 2.4.0's mm/vmscan.c and mm/swap.c implement it, behind the ops table:
// - page aging: a scan that finds a page referenced adds PAGE_AGE_ADV (3) to its age, up to
//   PAGE_AGE_MAX (64); one that finds it idle halves the age (exponential decline, closer to LRU
//   than LFU). New pages start active at PAGE_AGE_START (2).
// - three lists: active; inactive_dirty, where a page goes when its age reaches 0 and no process
//   maps it; inactive_clean, per zone, clean pages the allocator takes at once (reclaim_page) and
//   that count as free. page_launder moves clean inactive_dirty pages to inactive_clean and, only
//   on a second pass while free memory is still short, writes the dirty ones (clean pages first).
// - refill_inactive balances the physical scan of the active list (refill_inactive_scan) against
//   the virtual scan of page tables (swap_out, SwapOut24), which alone can unmap a page: 2.4 had
//   no reverse map, so a mapped page leaves memory only after swap_out took it from every PTE.
// - the inactive target: free target plus a floating average of page allocations per second
//   (memory_pressure >> INACTIVE_SHIFT, at most a quarter of memory); kswapd wakes every second
//   for background aging of the active list and to decay the average.
// The lists are per zone here (2.4.0's active and inactive_dirty lists were global), and kswapd's
// wake-ups and direct reclaim come through 2.6.20's entry points (balance_pgdat, try_to_free_pages),
// which call ShrinkZone; each call runs one round of 2.4.0's do_try_to_free_pages for the zone.
using Kernel.Core;
using Kernel.Core.Time;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Vmscan;

/// <summary>2.4.0's page aging design.</summary>
public sealed class Aging24 : ReplacementPolicyOps
{
    public const int PAGE_AGE_START = 2;
    public const int PAGE_AGE_ADV = 3;
    public const int PAGE_AGE_MAX = 64;
    public const int INACTIVE_SHIFT = 6;

    private uint _lastRecalc;

    internal Aging24(PageReclaim reclaim, MemorySubsystem mem)
        : base(reclaim, mem)
    {
    }

    public override ReplacementPolicy Kind => ReplacementPolicy.Aging24;

    public override string Name => "2.4.0";

    /// <summary>Pages page_launder moved to inactive_clean, pages it wrote, pages reclaim_page handed out.</summary>
    public long Laundered { get; private set; }

    public long LaunderWrites { get; private set; }

    public long CleanReclaimed { get; private set; }

    /// <summary>Active pages aged (scanned) and deactivated, and background aging rounds.</summary>
    public long AgedPages { get; private set; }

    public long Deactivated { get; private set; }

    public long BackgroundRounds { get; private set; }

    /// <summary>inactive_target: min(memory_pressure >> INACTIVE_SHIFT, num_physpages / 4).</summary>
    public long InactiveTarget => Math.Min(Mem.MemoryPressure >> INACTIVE_SHIFT, Reclaim.VmTotalPages / 4);

    private long FreePages => Mem.Zones.Sum(z => z.FreePages);

    private long CleanPages => Mem.Zones.Sum(z => z.NrInactiveClean);

    private long FreeTargetHigh => Mem.Zones.Sum(z => z.PagesHigh);

    /// <summary>free_shortage: pages short of freepages.high + inactive_target / 3 (free and inactive_clean count), or of any zone's pages_min.</summary>
    public long FreeShortage()
    {
        long freeable = FreePages + CleanPages;
        long target = FreeTargetHigh + InactiveTarget / 3;
        if (freeable < target)
        {
            return target - freeable;
        }
        long sum = 0;
        foreach (var z in Mem.Zones)
        {
            if (z.PresentPages > 0 && z.NrInactiveClean + z.FreePages < z.PagesMin + 1)
            {
                sum += z.PagesMin + 1 - z.FreePages - z.NrInactiveClean;
            }
        }
        return sum;
    }

    /// <summary>inactive_shortage: freepages.high + inactive_target less the free, inactive_clean and inactive_dirty pages.</summary>
    public long InactiveShortage()
    {
        long shortage = FreeTargetHigh + InactiveTarget - FreePages - CleanPages - Mem.Zones.Sum(z => z.NrInactive);
        return Math.Max(0, shortage);
    }

    internal override bool NewPageActive(bool requestedActive) => true;

    /// <summary>2.4.0's kswapd works to its shortages, not to 2.6's per-zone pages_high.</summary>
    internal override bool BalancesWatermarks => false;

    internal override void PageAddedToLru(ref Page page) => page.SetAge(PAGE_AGE_START);

    /// <summary>A cache hit marks the page referenced; the next scan ages it up (2.4.0 had no two-touch promotion).</summary>
    internal override void MarkPageAccessed(int pfn) => Mem.PageAt(pfn).Set(PageFlag.PG_referenced);

    /// <summary>age_page_up: a referenced page gains PAGE_AGE_ADV, up to PAGE_AGE_MAX.</summary>
    private static void AgePageUp(ref Page page) => page.SetAge(Math.Min(PAGE_AGE_MAX, page.Age + PAGE_AGE_ADV));

    internal override async ValueTask<long> ShrinkZone(int priority, Zone zone, ScanControl sc)
    {
        // do_try_to_free_pages for one zone: launder when free memory is short or the dirty
        // inactive pages outnumber the free ones, refill the inactive list when it is short, then
        // hand the zone's clean pages to the free lists.
        long cleaned = 0, agedBefore = AgedPages;
        bool moved = false;
        if (FreeShortage() > 0 || zone.NrInactive > zone.FreePages + zone.NrInactiveClean)
        {
            cleaned = PageLaunder(zone, sc);
        }
        if (FreeShortage() > 0 || InactiveShortage() > 0)
        {
            moved = RefillInactive(zone, sc, priority);
        }
        long wanted = Math.Max(PageReclaim.SWAP_CLUSTER_MAX, zone.PagesHigh - zone.FreePages);
        long freed = ReclaimCleanPages(zone, wanted);
        if (freed == 0 && cleaned == 0 && !moved)
        {
            // A round that aged the active list and could move nothing off it (every page mapped
            // and swap_out able to free none, e.g. no swap slot left) is a failed attempt to free:
            // its aged pages count towards pages_scanned, so 2.6's unreclaimable test and OOM end
            // the shortage (otherwise an allocator retries for ever on a trickle of frees).
            zone.PagesScanned += AgedPages - agedBefore;
        }
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

    /// <summary>
    /// page_launder for `zone`: referenced, aged or mapped pages go back to the active list; clean
    /// ones move to inactive_clean; dirty ones are skipped on the first pass and written on a
    /// second, taken only while free memory is still short (clean pages are always freed first).
    /// </summary>
    private long PageLaunder(Zone zone, ScanControl sc)
    {
        bool canIo = (sc.GfpMask & Gfp.__GFP_IO) != 0 && sc.MayWritepage;
        long cleaned = 0;
        var map = Mem.MemMap;
        for (int loop = 0; loop < 2; loop++)
        {
            long maxscan = zone.NrInactive;
            long scanned = 0, inFlight = 0;
            while (maxscan-- > 0 && !zone.InactiveList.IsEmpty)
            {
                int pfn = zone.InactiveList.Tail;
                ref var page = ref map[pfn];
                scanned++;
                if (TestClearReferenced(ref page) || page.Age > 0 || page.MapCount >= 0 || page.Count > 1)
                {
                    MoveToActive(zone, pfn);
                    continue;
                }
                if (page.Test(PageFlag.PG_writeback) || !Mem.PageWait.TryLockPage(pfn))
                {
                    Rotate(ref zone.InactiveList, pfn); // I/O in progress: to the back of the list
                    inFlight++;
                    continue;
                }
                var mapping = Mem.PageMapping(pfn);
                if (page.Test(PageFlag.PG_dirty))
                {
                    if (mapping is null)
                    {
                        MoveToActive(zone, pfn);
                    }
                    else if (loop == 0 || !canIo)
                    {
                        Rotate(ref zone.InactiveList, pfn); // first time through: clean pages first
                    }
                    else
                    {
                        LaunderWrite(zone, pfn, mapping);
                    }
                }
                else if (mapping is not null)
                {
                    zone.InactiveList.Del(map, pfn);
                    zone.NrInactive--;
                    Mem.AddPageToInactiveCleanList(zone, pfn);
                    cleaned++;
                }
                else
                {
                    MoveToActive(zone, pfn);
                }
                Mem.PageWait.UnlockPage(pfn);
            }
            Mem.Machine.ChargeLock(zone.LruLock, Mem.Machine.ThisCpu, scanned * Mem.Options.Costs.LruMoveNs);
            if (loop == 0)
            {
                // A launder pass walks the whole list, pages still being written included: only
                // the first pass's pages that could have been freed count towards pages_scanned,
                // or two passes a priority would call a zone with writes in flight unreclaimable.
                zone.PagesScanned += scanned - inFlight;
            }
            sc.NrScanned += scanned; // (so 2.6's callers nap in congestion_wait while the writes run)
            if (sc.IsKswapd)
            {
                zone.PgScanKswapd += scanned;
            }
            else
            {
                zone.PgScanDirect += scanned;
            }
            if (!canIo || FreeShortage() == 0)
            {
                break;
            }
        }
        Laundered += cleaned;
        return cleaned;
    }

    /// <summary>The write of a dirty inactive page: it stays on inactive_dirty and moves to inactive_clean on a later pass once clean.</summary>
    private void LaunderWrite(Zone zone, int pfn, AddressSpace mapping)
    {
        if (!Mem.Writeback.ClearPageDirtyForIo(mapping, pfn))
        {
            Rotate(ref zone.InactiveList, pfn);
            return;
        }
        int res = mapping.AOps.WritePage(Mem, mapping, pfn);
        if (res == AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE)
        {
            MoveToActive(zone, pfn); // writepage refused: keep it
            return;
        }
        LaunderWrites++;
        Reclaim.NoteVmscanWrite();
        Rotate(ref zone.InactiveList, pfn);
    }

    /// <summary>
    /// refill_inactive: deactivate inactive_shortage + free_shortage pages (a direct reclaimer
    /// only 1 &lt;&lt; page_cluster), alternating the active-list scan with swap_out from priority 6
    /// down, a priority lower only after a round without progress. True if it moved any page.
    /// </summary>
    private bool RefillInactive(Zone zone, ScanControl sc, int priority)
    {
        long count = sc.IsKswapd ? InactiveShortage() + FreeShortage() : 1L << Mem.Swap.PageCluster;
        count = Math.Max(1, count);
        bool any = false;
        for (int p = Math.Min(6, priority); p >= 0;)
        {
            bool progress = false;
            while (RefillInactiveScan(zone, p, oneshot: true))
            {
                progress = any = true;
                if (--count <= 0)
                {
                    return true;
                }
            }
            while (sc.MaySwap && Mem.SwapOut24.SwapOut(1) > 0)
            {
                progress = any = true;
                if (--count <= 0)
                {
                    return true;
                }
            }
            if (InactiveShortage() == 0 || FreeShortage() == 0)
            {
                return any;
            }
            if (!progress)
            {
                p--;
            }
        }
        while (RefillInactiveScan(zone, 0, oneshot: true))
        {
            any = true;
            if (--count <= 0)
            {
                break;
            }
        }
        return any;
    }

    /// <summary>
    /// refill_inactive_scan: age nr_active >> priority pages from the active list's tail; one whose
    /// age falls to 0 and that nobody maps or holds moves to inactive_dirty. True if one did.
    /// </summary>
    private bool RefillInactiveScan(Zone zone, int priority, bool oneshot)
    {
        var map = Mem.MemMap;
        long maxscan = zone.NrActive >> priority;
        long scanned = 0;
        bool deactivated = false;
        while (maxscan-- > 0 && !zone.ActiveList.IsEmpty)
        {
            int pfn = zone.ActiveList.Tail;
            ref var page = ref map[pfn];
            scanned++;
            if (page.Age > 0 || page.Test(PageFlag.PG_referenced))
            {
                _changes++;
            }
            if (TestClearReferenced(ref page))
            {
                AgePageUp(ref page);
            }
            else
            {
                page.SetAge(page.Age / 2); // age_page_down_ageonly
                if (page.Age == 0 && page.Count <= 1 && page.MapCount < 0 && !page.Test(PageFlag.PG_locked))
                {
                    zone.ActiveList.Del(map, pfn);
                    zone.NrActive--;
                    page.Clear(PageFlag.PG_active);
                    Mem.AddPageToInactiveList(zone, pfn); // deactivate_page_nolock
                    Deactivated++;
                    Mem.PgDeactivate++;
                    deactivated = true;
                    if (oneshot)
                    {
                        break;
                    }
                    continue;
                }
            }
            Rotate(ref zone.ActiveList, pfn);
        }
        // Aging is not a failed attempt to free: unlike 2.6's active scan it does not count
        // towards pages_scanned, which would soon call the zone unreclaimable.
        AgedPages += scanned;
        zone.PgRefill += scanned;
        Mem.Machine.ChargeLock(zone.LruLock, Mem.Machine.ThisCpu, scanned * Mem.Options.Costs.LruMoveNs);
        return deactivated;
    }

    /// <summary>
    /// reclaim_page, up to `wanted` times: a page from the tail of the zone's inactive_clean list
    /// leaves its cache and goes to the free lists; a page found in use goes back to the active
    /// list, a dirty or locked one to inactive_dirty.
    /// </summary>
    internal override long ReclaimCleanPages(Zone zone, long wanted)
    {
        var map = Mem.MemMap;
        long freed = 0, maxscan = zone.NrInactiveClean;
        while (freed < wanted && maxscan-- > 0 && !zone.InactiveCleanList.IsEmpty)
        {
            int pfn = zone.InactiveCleanList.Tail;
            ref var page = ref map[pfn];
            Mem.MemoryPressure++;
            if (TestClearReferenced(ref page) || page.Age > 0 || page.MapCount >= 0 || page.Count > 1)
            {
                Mem.DelPageFromInactiveCleanList(zone, pfn);
                page.Set(PageFlag.PG_active);
                Mem.AddPageToActiveList(zone, pfn);
                continue;
            }
            var mapping = Mem.PageMapping(pfn);
            if (page.Test(PageFlag.PG_dirty) || page.Test(PageFlag.PG_writeback) || mapping is null || !Mem.PageWait.TryLockPage(pfn))
            {
                Mem.DelPageFromInactiveCleanList(zone, pfn);
                Mem.AddPageToInactiveList(zone, pfn);
                continue;
            }
            Mem.DelPageFromInactiveCleanList(zone, pfn);
            freed += Reclaim.FreeUnlistedPage(zone, pfn, mapping) ? 1 : 0;
        }
        CleanReclaimed += freed;
        zone.PgSteal += freed; // (the allocator's reclaim_page calls included)
        return freed;
    }

    /// <summary>
    /// kswapd wakes once a second (as 2.4.0's always did) until the machine has settled: no
    /// allocation average left and 64 rounds in a row — a whole pass over the active lists at
    /// priority 6 — that aged no page and moved none. Then it sleeps until woken, so an idle
    /// emulated machine can go quiet.
    /// </summary>
    internal override long KswapdTimeout => Mem.MemoryPressure >> INACTIVE_SHIFT > 0 || _settledRounds < 64 ? Mem.Machine.Hz.Value : 0;

    private int _settledRounds;

    private long _changes;

    /// <summary>
    /// 2.4.0 kswapd's loop body: free memory when free or inactive pages are short, age the active
    /// lists in the background (refill_inactive_scan at priority 6, a 64th a second, so every page
    /// is looked at once a minute), decay memory_pressure once a second, and refill the free
    /// lists from inactive_clean down to pages_low (kreclaimd's work).
    /// </summary>
    internal override async ValueTask KswapdPeriodic()
    {
        var m = Mem.Machine;
        BackgroundRounds++;
        var sc = new ScanControl { GfpMask = Gfp.GFP_KERNEL, Swappiness = Reclaim.Swappiness, IsKswapd = true };
        // 2.4.0's kswapd loops without sleeping while both shortages last (out_of_memory() ends
        // it there; here the allocator's OOM path does): ten rounds at most a wake, with a nap in
        // congestion_wait between them so the writes started can finish.
        for (int round = 0; round < 10 && (InactiveShortage() > 0 || FreeShortage() > 0); round++)
        {
            if (round > 0)
            {
                await Mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, m.Hz.Value / 10));
            }
            foreach (var z in Mem.Zones)
            {
                if (z.PresentPages > 0)
                {
                    PageLaunder(z, sc);
                    RefillInactive(z, sc, 6);
                    ReclaimCleanPages(z, Math.Max(0, z.PagesHigh - z.FreePages));
                }
            }
            if (InactiveShortage() == 0 || FreeShortage() == 0)
            {
                break;
            }
        }
        long changesBefore = _changes;
        foreach (var z in Mem.Zones)
        {
            if (z.PresentPages > 0)
            {
                RefillInactiveScan(z, 6, oneshot: false);
            }
        }
        _settledRounds = _changes == changesBefore ? _settledRounds + 1 : 0;
        if (m.Jiffies - _lastRecalc >= (uint)m.Hz.Value)
        {
            _lastRecalc = m.Jiffies;
            Mem.MemoryPressure -= Mem.MemoryPressure >> INACTIVE_SHIFT; // recalculate_vm_stats
        }
        foreach (var z in Mem.Zones)
        {
            if (z.FreePages < z.PagesLow)
            {
                ReclaimCleanPages(z, z.PagesLow - z.FreePages);
            }
        }
        await m.CondResched();
    }

    /// <summary>2.4.0's kswapd runs from boot: start its once-a-second rounds.</summary>
    internal override void Enter()
    {
        _settledRounds = 0;
        Reclaim.KickKswapd();
    }

    /// <summary>Switching away: the inactive_clean pages join the inactive list the 2.6 code knows.</summary>
    internal override void Leave()
    {
        foreach (var z in Mem.Zones)
        {
            while (!z.InactiveCleanList.IsEmpty)
            {
                int pfn = z.InactiveCleanList.Tail;
                Mem.DelPageFromInactiveCleanList(z, pfn);
                Mem.AddPageToInactiveList(z, pfn);
            }
        }
    }

    private static bool TestClearReferenced(ref Page page)
    {
        bool r = page.Test(PageFlag.PG_referenced);
        page.Clear(PageFlag.PG_referenced);
        return r;
    }

    private void MoveToActive(Zone zone, int pfn)
    {
        zone.InactiveList.Del(Mem.MemMap, pfn);
        zone.NrInactive--;
        Mem.MemMap[pfn].Set(PageFlag.PG_active);
        Mem.AddPageToActiveList(zone, pfn);
        Mem.PgActivate++;
    }

    private void Rotate(ref PfnList list, int pfn)
    {
        list.Del(Mem.MemMap, pfn);
        list.AddHead(Mem.MemMap, pfn);
    }
}
