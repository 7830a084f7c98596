// Linux 2.6.20 mm/vmscan.c, the page reclaim both kswapd and direct reclaim run: shrink_zone
// scans a zone's active and inactive lists in batches of SWAP_CLUSTER_MAX (32), nr >> priority
// of each per pass, from DEF_PRIORITY (12, a 4096th) down to 0 (everything).
// shrink_active_list moves pages from the tail of the active list to the inactive list, keeping
// mapped pages that were referenced, and all mapped pages unless reclaim_mapped says the time has
// come (mapped_ratio / 2 + distress + swappiness >= 100). shrink_inactive_list isolates a batch
// from the inactive list's tail and shrink_page_list tries to free each page: a referenced page
// in use is activated, a mapped file page is unmapped through the reverse map, a dirty one is
// written through a_ops->writepage (pageout) and rotated back when its write ends, a clean
// unmapped one leaves its mapping and is freed. An anonymous page first gets a swap entry and
// joins the swap cache (add_to_swap; without swap space it is activated), then goes the same way
// with swap_writepage as its writepage. try_to_free_pages (direct reclaim) loops over the priorities until
// SWAP_CLUSTER_MAX pages are freed; the pdflush kick and slab shrinking wait for their subsystems.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm.Filemap;
using Kernel.Mm.Rmap;

namespace Kernel.Mm.Vmscan;

/// <summary>struct scan_control.</summary>
public sealed class ScanControl
{
    /// <summary>nr_scanned: inactive pages scanned (mapped ones count twice, for the slab pressure).</summary>
    public long NrScanned { get; internal set; }

    public Gfp GfpMask { get; init; }

    public bool MayWritepage { get; internal set; } = true;

    /// <summary>may_swap: mapped pages may be unmapped.</summary>
    public bool MaySwap { get; init; } = true;

    public int SwapClusterMax { get; init; } = PageReclaim.SWAP_CLUSTER_MAX;

    public int Swappiness { get; init; }

    public bool AllUnreclaimable { get; internal set; }

    /// <summary>current_is_kswapd: the scan counts as pgscan_kswapd.</summary>
    public bool IsKswapd { get; init; }

    /// <summary>The priority of the pass in progress (12 = gentle, 0 = everything).</summary>
    public int Priority { get; internal set; } = PageReclaim.DEF_PRIORITY;
}

public sealed partial class PageReclaim : IDirectReclaim
{
    public const int DEF_PRIORITY = 12;

    public const int SWAP_CLUSTER_MAX = 32;

    private readonly MemorySubsystem _mem;
    private readonly Stack<List<int>> _lists = new();

    internal PageReclaim(MemorySubsystem mem)
    {
        _mem = mem;
        VmTotalPages = mem.Zones.Sum(z => z.PresentPages);
        Nonresident = new NonresidentTable(Math.Max(1, VmTotalPages), mem.Options.L1CacheBytes);
        Policy = mem.Options.Replacement;
        PreferCleanCache = mem.Options.PreferCleanCache;
    }

    /// <summary>
    /// The clean-first switch (/proc/sys/vm/prefer_clean_cache, Andrea's fix in the LWN seed):
    /// above priority CleanFirstPriority, mapped pages stay active and a dirty or mapped inactive
    /// page is passed over, so clean page cache goes first; in distress the 2.6.20 rules return.
    /// </summary>
    public bool PreferCleanCache { get; set; }

    /// <summary>The priority at and below which the clean-first switch stops protecting dirty and mapped pages.</summary>
    public const int CleanFirstPriority = 2;

    /// <summary>Pages the clean-first switch passed over.</summary>
    public long CleanFirstSkipped { get; private set; }

    /// <summary>vm_swappiness (/proc/sys/vm/swappiness): 0..100, higher reclaims mapped memory sooner.</summary>
    public int Swappiness { get; set; } = 60;

    /// <summary>vm_total_pages: the pages the VM controls.</summary>
    public long VmTotalPages { get; }

    /// <summary>vm events: allocstall, pageoutrun, kswapd_steal, pgscan and pgsteal totals live on the zones.</summary>
    public long AllocStall { get; private set; }

    public long PageoutRun { get; private set; }

    public long KswapdSteal { get; private set; }

    /// <summary>NR_VMSCAN_WRITE: pages pageout wrote.</summary>
    public long VmscanWrite { get; private set; }

    private Machine M => _mem.Machine;

    internal void NoteKswapdSteal(long freed) => KswapdSteal += freed;

    internal void NoteVmscanWrite() => VmscanWrite++;

    /// <summary>
    /// try_to_free_pages: direct reclaim for an allocation from `zonelist`: scan from
    /// DEF_PRIORITY down until SWAP_CLUSTER_MAX pages are freed, napping in congestion_wait at
    /// the lower priorities. Returns the pages freed, or 1 when nothing was freed but some zone
    /// is still reclaimable (so the allocator retries instead of failing), 0 for none.
    /// </summary>
    public async ValueTask<long> TryToFreePages(Zone[] zonelist, int order, Gfp gfp)
    {
        ArgumentNullException.ThrowIfNull(zonelist);
        AllocStall++;
        var sc = new ScanControl { GfpMask = gfp, Swappiness = Swappiness };
        long totalScanned = 0, reclaimed = 0, lruPages = 0;
        foreach (var z in zonelist)
        {
            lruPages += z.NrActive + z.NrInactive;
        }
        int priority;
        bool done = false;
        for (priority = DEF_PRIORITY; priority >= 0; priority--)
        {
            sc.NrScanned = 0;
            reclaimed += await ShrinkZones(priority, zonelist, sc);
            ShrinkSlab(sc.NrScanned, gfp, lruPages, out long reclaimedSlab);
            reclaimed += reclaimedSlab;
            totalScanned += sc.NrScanned;
            if (reclaimed >= sc.SwapClusterMax)
            {
                done = true;
                break;
            }
            if (totalScanned > sc.SwapClusterMax + sc.SwapClusterMax / 2)
            {
                sc.MayWritepage = true; // (and wakeup_pdflush, once pdflush exists)
            }
            if (sc.NrScanned > 0 && priority < DEF_PRIORITY - 2)
            {
                await _mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, M.Hz.Value / 10));
            }
        }
        foreach (var z in zonelist)
        {
            z.PrevPriority = Math.Max(priority, 0);
        }
        if (done || reclaimed > 0)
        {
            return reclaimed;
        }
        // "top priority shrink_caches still had more to do? don't OOM, then". Deviation: a zone
        // scanned six times over without a page freed counts as unreclaimable here too (later
        // kernels' zone_reclaimable), so an allocator does not loop for ever while kswapd sleeps.
        bool hopeless = sc.AllUnreclaimable || zonelist.All(z => z.PresentPages == 0 || z.AllUnreclaimable
            || z.PagesScanned >= (z.NrActive + z.NrInactive) * 6);
        return hopeless ? 0 : 1;
    }

    /// <summary>shrink_zones: each populated zone of the list, skipping those kswapd marked all_unreclaimable below DEF_PRIORITY.</summary>
    private async ValueTask<long> ShrinkZones(int priority, Zone[] zones, ScanControl sc)
    {
        long reclaimed = 0;
        sc.AllUnreclaimable = true;
        foreach (var zone in zones)
        {
            if (zone.PresentPages == 0)
            {
                continue;
            }
            NoteZoneScanningPriority(zone, priority);
            if (zone.AllUnreclaimable && priority != DEF_PRIORITY)
            {
                continue; // let kswapd poll it
            }
            sc.AllUnreclaimable = false;
            reclaimed += await ShrinkZone(priority, zone, sc);
        }
        return reclaimed;
    }

    private static void NoteZoneScanningPriority(Zone zone, int priority)
    {
        if (priority < zone.PrevPriority)
        {
            zone.PrevPriority = priority;
        }
    }

    /// <summary>shrink_zone: reclaim from `zone` at `priority` as the design in use does it. Returns the pages freed.</summary>
    public ValueTask<long> ShrinkZone(int priority, Zone zone, ScanControl sc)
    {
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentNullException.ThrowIfNull(sc);
        ArgumentOutOfRangeException.ThrowIfNegative(priority);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(priority, DEF_PRIORITY);
        return _ops.ShrinkZone(priority, zone, sc);
    }

    /// <summary>2.6.20's shrink_zone: scan nr_active >> priority (+1) and nr_inactive >> priority (+1), in batches of swap_cluster_max.</summary>
    internal async ValueTask<long> ShrinkZone26(int priority, Zone zone, ScanControl sc, TwoListLru ops)
    {
        long reclaimed = 0;
        sc.Priority = priority;
        zone.NrScanActive += ops.ActiveScanShare(zone, priority);
        long nrActive = zone.NrScanActive;
        if (nrActive >= sc.SwapClusterMax)
        {
            zone.NrScanActive = 0;
        }
        else
        {
            nrActive = 0;
        }
        zone.NrScanInactive += (zone.NrInactive >> priority) + 1;
        long nrInactive = zone.NrScanInactive;
        if (nrInactive >= sc.SwapClusterMax)
        {
            zone.NrScanInactive = 0;
        }
        else
        {
            nrInactive = 0;
        }
        while (nrActive > 0 || nrInactive > 0)
        {
            if (nrActive > 0)
            {
                long n = Math.Min(nrActive, sc.SwapClusterMax);
                nrActive -= n;
                ShrinkActiveList(n, zone, sc, priority, ops);
            }
            if (nrInactive > 0)
            {
                long n = Math.Min(nrInactive, sc.SwapClusterMax);
                nrInactive -= n;
                reclaimed += await ShrinkInactiveList(n, zone, sc, priority);
            }
        }
        return reclaimed;
    }

    /// <summary>zone_is_near_oom: three times the LRU pages scanned without freeing one.</summary>
    private static bool ZoneIsNearOom(Zone zone) => zone.PagesScanned >= (zone.NrActive + zone.NrInactive) * 3;

    /// <summary>
    /// isolate_lru_pages: up to `nrToScan` pages from the tail of `list` onto `dst`, each with a
    /// reference and PG_lru cleared (a page being freed elsewhere is skipped). Returns the pages taken.
    /// </summary>
    private long IsolateLruPages(long nrToScan, ref PfnList src, List<int> dst, out long scanned)
    {
        var map = _mem.MemMap;
        long taken = 0;
        scanned = 0;
        for (; scanned < nrToScan && !src.IsEmpty; scanned++)
        {
            int pfn = src.Tail;
            ref var page = ref map[pfn];
            if (!page.Test(PageFlag.PG_lru) || page.Count <= 0)
            {
                throw new KernelBug($"isolate_lru_pages: pfn {pfn} on an LRU list with flags 0x{page.Flags:x} and count {page.Count}");
            }
            // get_page_unless_zero always succeeds here: put_page takes a page off its list before its count reaches 0.
            src.Del(map, pfn);
            page.Count++;
            page.Clear(PageFlag.PG_lru);
            dst.Add(pfn);
            taken++;
        }
        return taken;
    }

    /// <summary>shrink_active_list: deactivate `nrPages` from the active list's tail (mapped ones only when reclaim_mapped and not referenced).</summary>
    private void ShrinkActiveList(long nrPages, Zone zone, ScanControl sc, int priority, TwoListLru ops)
    {
        bool reclaimMapped = false;
        if (sc.MaySwap)
        {
            if (ZoneIsNearOom(zone))
            {
                reclaimMapped = true;
            }
            else
            {
                long distress = 100 >> Math.Min(zone.PrevPriority, priority);
                long mappedRatio = (_mem.NrFileMapped + _mem.NrAnonPages) * 100 / Math.Max(1, VmTotalPages);
                long swapTendency = mappedRatio / 2 + distress + sc.Swappiness;
                reclaimMapped = swapTendency >= 100 && !(PreferCleanCache && priority > CleanFirstPriority);
            }
        }
        _mem.LruAddDrain();
        var hold = RentList();
        var cpu = M.ThisCpu;
        long moved = IsolateLruPages(nrPages, ref zone.ActiveList, hold, out long scanned);
        M.ChargeLock(zone.LruLock, cpu, scanned * _mem.Options.Costs.LruMoveNs);
        zone.PagesScanned += scanned;
        zone.NrActive -= moved;
        ops.ActiveScanned(zone, scanned);
        var inactive = RentList();
        var active = RentList();
        foreach (int pfn in hold)
        {
            ref var page = ref _mem.MemMap[pfn];
            if (page.MapCount >= 0)
            {
                bool noSwap = page.IsAnon && _mem.Swap.TotalSwapPages == 0;
                if (!reclaimMapped || noSwap || _mem.Rmap.PageReferenced(pfn) > 0)
                {
                    active.Add(pfn);
                    continue;
                }
            }
            inactive.Add(pfn);
        }
        M.ChargeLock(zone.LruLock, cpu, hold.Count * _mem.Options.Costs.LruMoveNs);
        foreach (int pfn in inactive)
        {
            ref var page = ref _mem.MemMap[pfn];
            page.Set(PageFlag.PG_lru);
            page.Clear(PageFlag.PG_active);
            _mem.AddPageToInactiveList(zone, pfn);
        }
        foreach (int pfn in active)
        {
            _mem.MemMap[pfn].Set(PageFlag.PG_lru);
            _mem.AddPageToActiveList(zone, pfn);
        }
        zone.PgRefill += scanned;
        _mem.PgDeactivate += inactive.Count;
        foreach (int pfn in hold)
        {
            _mem.PutPage(pfn); // the isolation's reference (__pagevec_release)
        }
        ReturnList(hold);
        ReturnList(inactive);
        ReturnList(active);
    }

    /// <summary>The batches' page lists, reused (kswapd and direct reclaimers may interleave, so each takes its own).</summary>
    private List<int> RentList() => _lists.TryPop(out var l) ? l : new List<int>(SWAP_CLUSTER_MAX);

    private void ReturnList(List<int> l)
    {
        l.Clear();
        _lists.Push(l);
    }

    /// <summary>shrink_inactive_list: isolate batches from the inactive tail, try to free them, put the rest back.</summary>
    private async ValueTask<long> ShrinkInactiveList(long maxScan, Zone zone, ScanControl sc, int priority)
    {
        long scannedTotal = 0, reclaimed = 0;
        _mem.LruAddDrain();
        var list = RentList();
        var cpu = M.ThisCpu;
        do
        {
            list.Clear();
            long taken = IsolateLruPages(sc.SwapClusterMax, ref zone.InactiveList, list, out long scan);
            M.ChargeLock(zone.LruLock, cpu, scan * _mem.Options.Costs.LruMoveNs);
            zone.NrInactive -= taken;
            zone.PagesScanned += scan;
            scannedTotal += scan;
            long skippedBefore = CleanFirstSkipped;
            long freed = ShrinkPageList(list, sc);
            // A page the clean-first switch passed over was not a failed attempt to free it: it
            // does not bring the zone nearer to being called unreclaimable (and the OOM killer).
            // pages_scanned was added before the list was tried, as Linux does, and a free in
            // between may have reset it: hence the floor.
            zone.PagesScanned = Math.Max(0, zone.PagesScanned - (CleanFirstSkipped - skippedBefore));
            reclaimed += freed;
            if (sc.IsKswapd)
            {
                zone.PgScanKswapd += scan;
                KswapdSteal += freed;
            }
            else
            {
                zone.PgScanDirect += scan;
            }
            zone.PgSteal += freed;
            var tp = _mem.Tracepoints.ShrinkInactive;
            if (tp.Enabled)
            {
                tp.Emit(new MmVmscanShrinkInactive(M.Now, M.ThisCpu.Id, zone.Name, scan, freed, priority, sc.IsKswapd));
            }
            if (taken == 0)
            {
                break;
            }
            M.ChargeLock(zone.LruLock, cpu, list.Count * _mem.Options.Costs.LruMoveNs);
            foreach (int pfn in list)
            {
                ref var page = ref _mem.MemMap[pfn];
                page.Set(PageFlag.PG_lru);
                if (page.Test(PageFlag.PG_active))
                {
                    _mem.AddPageToActiveList(zone, pfn);
                }
                else
                {
                    _mem.AddPageToInactiveList(zone, pfn);
                }
            }
            foreach (int pfn in list)
            {
                _mem.PutPage(pfn);
            }
            if (M.Executing is not null)
            {
                await M.CondResched(); // (host-side callers, a harness or a benchmark, have nothing to yield)
            }
        }
        while (scannedTotal < maxScan);
        ReturnList(list);
        return reclaimed;
    }

    /// <summary>page_mapping_inuse: mapped, or its file is mapped by someone.</summary>
    private bool PageMappingInuse(ref Page page)
    {
        if (page.MapCount >= 0)
        {
            return true;
        }
        return !page.IsAnon && _mem.AddressSpaceOf(page.Mapping) is { } mapping && mapping.IMmap.Count > 0;
    }

    /// <summary>
    /// shrink_page_list: try to free each isolated page; the freed ones leave `pages`, the rest
    /// stay (with PG_active set for those to activate). Returns the pages freed.
    /// </summary>
    private long ShrinkPageList(List<int> pages, ScanControl sc)
    {
        long reclaimed = 0;
        int activated = 0, kept = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            int pfn = pages[i];
            var outcome = ShrinkOnePage(pfn, sc);
            if (outcome == Outcome.Freed)
            {
                reclaimed++;
                continue;
            }
            if (outcome == Outcome.Activate)
            {
                _mem.MemMap[pfn].Set(PageFlag.PG_active);
                activated++;
            }
            pages[kept++] = pfn; // the survivors, in order
        }
        pages.RemoveRange(kept, pages.Count - kept);
        _mem.PgActivate += activated;
        return reclaimed;
    }

    private enum Outcome
    {
        Keep,
        Activate,
        Freed,
    }

    private Outcome ShrinkOnePage(int pfn, ScanControl sc)
    {
        var costs = _mem.Options.Costs;
        M.Charge(costs.ReclaimPageNs);
        if (!_mem.PageWait.TryLockPage(pfn))
        {
            return Outcome.Keep;
        }
        var result = ShrinkLockedPage(pfn, sc);
        if (result != Outcome.Freed)
        {
            _mem.PageWait.UnlockPage(pfn);
        }
        return result;
    }

    private Outcome ShrinkLockedPage(int pfn, ScanControl sc)
    {
        ref var page = ref _mem.MemMap[pfn];
        sc.NrScanned++;
        if (!sc.MaySwap && page.MapCount >= 0)
        {
            return Outcome.Keep;
        }
        if (page.MapCount >= 0 || page.Test(PageFlag.PG_swapcache))
        {
            sc.NrScanned++; // double the slab pressure for mapped pages
        }
        if (page.Test(PageFlag.PG_writeback))
        {
            return Outcome.Keep;
        }
        int referenced = _mem.Rmap.PageReferenced(pfn);
        if (referenced > 0 && PageMappingInuse(ref page))
        {
            return Outcome.Activate;
        }
        if (PreferCleanCache && sc.Priority > CleanFirstPriority && (page.MapCount >= 0 || page.Test(PageFlag.PG_dirty)))
        {
            CleanFirstSkipped++;
            return Outcome.Keep; // clean cache first: an unused dirty or mapped page waits for distress
        }
        if (page.IsAnon && !page.Test(PageFlag.PG_swapcache) && !_mem.Swap.AddToSwap(pfn))
        {
            return Outcome.Activate; // no swap space: keep it in memory
        }
        var mapping = _mem.PageMapping(pfn);
        if (mapping is null)
        {
            return Outcome.Keep;
        }
        bool mayEnterFs = (sc.GfpMask & Gfp.__GFP_FS) != 0;
        if (page.MapCount >= 0)
        {
            switch (_mem.Rmap.TryToUnmap(pfn))
            {
                case UnmapResult.SWAP_FAIL:
                    return Outcome.Activate;
                case UnmapResult.SWAP_AGAIN:
                    return Outcome.Keep;
            }
        }
        if (page.Test(PageFlag.PG_dirty))
        {
            if (referenced > 0 || !mayEnterFs || !sc.MayWritepage)
            {
                return Outcome.Keep;
            }
            switch (Pageout(pfn, mapping))
            {
                case PageoutResult.Keep:
                    return Outcome.Keep;
                case PageoutResult.Activate:
                    return Outcome.Activate;
                case PageoutResult.Success:
                    if (page.Test(PageFlag.PG_writeback) || page.Test(PageFlag.PG_dirty))
                    {
                        return Outcome.Keep; // freed when its write ends and a later scan finds it clean
                    }
                    break; // a synchronous write (a RAM disk): free it now
            }
        }
        return RemoveMapping(pfn, mapping) ? Outcome.Freed : Outcome.Keep;
    }
}
