// Linux 2.6.20 mm/swap.c and include/linux/mm_inline.h: the per-zone LRU lists. A page enters
// through a per-CPU pagevec of 14 (lru_cache_add for page cache pages onto the inactive list,
// lru_cache_add_active for new anonymous pages onto the active list), so zone->lru_lock is taken
// once per batch; the pagevec holds a reference until it is drained. mark_page_accessed is the
// two-touch promotion: the first touch of an inactive page sets PG_referenced, the second moves
// it to the active list. put_page takes a page whose last reference goes off its list before it
// is freed. end_page_writeback moves a page that reclaim wrote out (PG_reclaim) to the tail of
// the inactive list, so the next scan frees it first (rotate_reclaimable_page).
using Kernel.Core;

namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    /// <summary>PAGEVEC_SIZE: pages a pagevec batches.</summary>
    public const int PAGEVEC_SIZE = 14;

    private int[][] _lruAddPvecs = null!;
    private int[][] _lruAddActivePvecs = null!;
    private int[] _lruAddCount = null!;
    private int[] _lruAddActiveCount = null!;

    /// <summary>vm events: pgactivate, pgdeactivate, pgrotated.</summary>
    public long PgActivate { get; internal set; }

    public long PgDeactivate { get; internal set; }

    public long PgRotated { get; internal set; }

    private void InitLru(int cpus)
    {
        _lruAddPvecs = new int[cpus][];
        _lruAddActivePvecs = new int[cpus][];
        for (int c = 0; c < cpus; c++)
        {
            _lruAddPvecs[c] = new int[PAGEVEC_SIZE];
            _lruAddActivePvecs[c] = new int[PAGEVEC_SIZE];
        }
        _lruAddCount = new int[cpus];
        _lruAddActiveCount = new int[cpus];
    }

    /// <summary>Pages waiting in the CPUs' lru_add pagevecs (each holds a reference).</summary>
    public int PagesInLruPagevecs => _lruAddCount.Sum() + _lruAddActiveCount.Sum();

    internal IEnumerable<int> LruPagevecPages()
    {
        for (int c = 0; c < _lruAddCount.Length; c++)
        {
            for (int i = 0; i < _lruAddCount[c]; i++)
            {
                yield return _lruAddPvecs[c][i];
            }
            for (int i = 0; i < _lruAddActiveCount[c]; i++)
            {
                yield return _lruAddActivePvecs[c][i];
            }
        }
    }

    /// <summary>lru_cache_add: a new page cache page goes to the inactive list (through this CPU's pagevec; 2.4.0's design puts every new page on the active list).</summary>
    public void LruCacheAdd(int pfn) => PagevecAdd(pfn, active: Reclaim?.Ops.NewPageActive(false) ?? false);

    /// <summary>lru_cache_add_active: a new anonymous page goes to the active list.</summary>
    public void LruCacheAddActive(int pfn) => PagevecAdd(pfn, active: Reclaim?.Ops.NewPageActive(true) ?? true);

    /// <summary>
    /// Put a page just added to this CPU's inactive pagevec (or already on the inactive list) on
    /// the active list instead: CLOCK-Pro's hot refault.
    /// </summary>
    internal void LruCacheMoveToActive(int pfn)
    {
        int cpu = Machine.ThisCpu.Id;
        ref int n = ref _lruAddCount[cpu];
        var vec = _lruAddPvecs[cpu];
        if (n > 0 && vec[n - 1] == pfn)
        {
            n--;
            MemMap[pfn].Count--; // the inactive pagevec's reference; the active one takes its own
            PagevecAdd(pfn, active: true);
            return;
        }
        ref var page = ref MemMap[pfn];
        if (page.Test(PageFlag.PG_lru) && !page.Test(PageFlag.PG_active))
        {
            ActivatePage(pfn);
        }
    }

    private void PagevecAdd(int pfn, bool active)
    {
        ref var page = ref MemMap[pfn];
        if (page.Test(PageFlag.PG_lru))
        {
            throw new KernelBug($"lru_cache_add: pfn {pfn} is on an LRU list already");
        }
        page.Count++; // page_cache_get: the pagevec's reference
        int cpu = Machine.ThisCpu.Id;
        var vec = active ? _lruAddActivePvecs[cpu] : _lruAddPvecs[cpu];
        ref int n = ref active ? ref _lruAddActiveCount[cpu] : ref _lruAddCount[cpu];
        vec[n++] = pfn;
        if (n == PAGEVEC_SIZE)
        {
            PagevecLruAdd(vec, ref n, active);
        }
    }

    /// <summary>__pagevec_lru_add(_active): the batch goes onto its zones' lists, then the pagevec drops its references.</summary>
    private void PagevecLruAdd(int[] vec, ref int n, bool active)
    {
        var cpu = Machine.ThisCpu;
        var ops = Reclaim?.Ops;
        for (int i = 0; i < n; i++)
        {
            int pfn = vec[i];
            ref var page = ref MemMap[pfn];
            var zone = Zones[page.ZoneIndex];
            Machine.ChargeLock(zone.LruLock, cpu, Options.Costs.LruMoveNs);
            page.Set(PageFlag.PG_lru);
            ops?.PageAddedToLru(ref page);
            if (active)
            {
                page.Set(PageFlag.PG_active);
                AddPageToActiveList(zone, pfn);
            }
            else
            {
                AddPageToInactiveList(zone, pfn);
            }
        }
        int count = n;
        n = 0;
        for (int i = 0; i < count; i++)
        {
            PutPage(vec[i]); // release_pages
        }
    }

    /// <summary>lru_add_drain: empty this CPU's pagevecs onto the lists.</summary>
    public void LruAddDrain() => LruAddDrain(Machine.ThisCpu.Id);

    private void LruAddDrain(int cpu)
    {
        if (_lruAddCount[cpu] > 0)
        {
            PagevecLruAdd(_lruAddPvecs[cpu], ref _lruAddCount[cpu], active: false);
        }
        if (_lruAddActiveCount[cpu] > 0)
        {
            PagevecLruAdd(_lruAddActivePvecs[cpu], ref _lruAddActiveCount[cpu], active: true);
        }
    }

    /// <summary>lru_add_drain_all: every CPU's pagevecs (from the host side, or a test that wants exact lists).</summary>
    public void LruAddDrainAll()
    {
        for (int c = 0; c < _lruAddCount.Length; c++)
        {
            LruAddDrain(c);
        }
    }

    internal void AddPageToActiveList(Zone zone, int pfn)
    {
        zone.ActiveList.AddHead(MemMap, pfn);
        zone.NrActive++;
    }

    internal void AddPageToInactiveList(Zone zone, int pfn)
    {
        zone.InactiveList.AddHead(MemMap, pfn);
        zone.NrInactive++;
    }

    /// <summary>add_page_to_inactive_clean_list (2.4.0's design only): PG_inactive_clean marks the page.</summary>
    internal void AddPageToInactiveCleanList(Zone zone, int pfn)
    {
        MemMap[pfn].Set(PageFlag.PG_inactive_clean);
        zone.InactiveCleanList.AddHead(MemMap, pfn);
        zone.NrInactiveClean++;
    }

    /// <summary>del_page_from_inactive_clean_list.</summary>
    internal void DelPageFromInactiveCleanList(Zone zone, int pfn)
    {
        MemMap[pfn].Clear(PageFlag.PG_inactive_clean);
        zone.InactiveCleanList.Del(MemMap, pfn);
        zone.NrInactiveClean--;
    }

    /// <summary>del_page_from_lru: off whichever list PG_active (or PG_inactive_clean) says.</summary>
    internal void DelPageFromLru(Zone zone, int pfn)
    {
        ref var page = ref MemMap[pfn];
        if (page.Test(PageFlag.PG_active))
        {
            page.Clear(PageFlag.PG_active);
            zone.ActiveList.Del(MemMap, pfn);
            zone.NrActive--;
        }
        else if (page.Test(PageFlag.PG_inactive_clean))
        {
            DelPageFromInactiveCleanList(zone, pfn);
        }
        else
        {
            zone.InactiveList.Del(MemMap, pfn);
            zone.NrInactive--;
        }
    }

    /// <summary>activate_page: an inactive page on the LRU moves to the head of the active list.</summary>
    public void ActivatePage(int pfn)
    {
        ref var page = ref MemMap[pfn];
        var zone = Zones[page.ZoneIndex];
        Machine.ChargeLock(zone.LruLock, Machine.ThisCpu, Options.Costs.LruMoveNs);
        if (page.Test(PageFlag.PG_lru) && !page.Test(PageFlag.PG_active))
        {
            DelPageFromLru(zone, pfn);
            page.Set(PageFlag.PG_active);
            AddPageToActiveList(zone, pfn);
            PgActivate++;
        }
    }

    /// <summary>mark_page_accessed as the replacement design in use does it.</summary>
    public void MarkPageAccessed(int pfn)
    {
        if (Reclaim is { } r)
        {
            r.Ops.MarkPageAccessed(pfn);
        }
        else
        {
            MarkPageAccessed26(pfn);
        }
    }

    /// <summary>
    /// 2.6.20's mark_page_accessed: inactive,unreferenced -> inactive,referenced; inactive,referenced ->
    /// active,unreferenced; active,unreferenced -> active,referenced.
    /// </summary>
    internal void MarkPageAccessed26(int pfn)
    {
        ref var page = ref MemMap[pfn];
        if (!page.Test(PageFlag.PG_active) && page.Test(PageFlag.PG_referenced) && page.Test(PageFlag.PG_lru))
        {
            ActivatePage(pfn);
            MemMap[pfn].Clear(PageFlag.PG_referenced);
        }
        else if (!page.Test(PageFlag.PG_referenced))
        {
            page.Set(PageFlag.PG_referenced);
        }
    }

    /// <summary>put_page (__page_cache_release): drop a reference; the last one takes the page off its LRU list and frees it.</summary>
    public void PutPage(int pfn)
    {
        ref var page = ref MemMap[pfn];
        if (page.Count == 1 && page.Test(PageFlag.PG_lru))
        {
            var zone = Zones[page.ZoneIndex];
            Machine.ChargeLock(zone.LruLock, Machine.ThisCpu, Options.Costs.LruMoveNs);
            page.Clear(PageFlag.PG_lru);
            DelPageFromLru(zone, pfn);
        }
        FreePages(pfn, 0);
    }

    /// <summary>
    /// end_page_writeback: clear PG_writeback; a page reclaim wrote out (PG_reclaim) that is still
    /// clean, inactive and on the LRU goes to the inactive list's tail (rotate_reclaimable_page).
    /// </summary>
    public void EndPageWriteback(int pfn)
    {
        ref var page = ref MemMap[pfn];
        if (!page.Test(PageFlag.PG_writeback))
        {
            throw new KernelBug($"end_page_writeback: pfn {pfn} is not under writeback");
        }
        if (page.Test(PageFlag.PG_reclaim))
        {
            page.Clear(PageFlag.PG_reclaim);
            if (!page.Test(PageFlag.PG_locked) && !page.Test(PageFlag.PG_dirty) && !page.Test(PageFlag.PG_active)
                && !page.Test(PageFlag.PG_inactive_clean) && page.Test(PageFlag.PG_lru))
            {
                var zone = Zones[page.ZoneIndex];
                Machine.ChargeLock(zone.LruLock, Machine.ThisCpu, Options.Costs.LruMoveNs);
                zone.InactiveList.Del(MemMap, pfn);
                zone.InactiveList.AddTail(MemMap, pfn);
                PgRotated++;
            }
        }
        page.Clear(PageFlag.PG_writeback);
        Writeback.AccountWritebackEnd();
        PageWait.WakeUpWriteback(pfn);
    }

    /// <summary>The LRU lists' consistency: PG_lru exactly on the pages linked, PG_active on the active list, counts right.</summary>
    internal void CheckLru(List<string> problems)
    {
        var onList = new HashSet<int>();
        foreach (var z in Zones)
        {
            foreach (var (list, active, count, name) in new[] { (z.ActiveList, true, z.NrActive, "active"), (z.InactiveList, false, z.NrInactive, "inactive"), (z.InactiveCleanList, false, z.NrInactiveClean, "inactive_clean") })
            {
                bool clean = name == "inactive_clean";
                long n = 0;
                int prev = -1;
                for (int pfn = list.Head; pfn >= 0; pfn = MemMap[pfn].LruNext)
                {
                    ref var page = ref MemMap[pfn];
                    if (!onList.Add(pfn))
                    {
                        problems.Add($"pfn {pfn} is on two LRU lists (or twice on the {z.Name} {name} list)");
                        break;
                    }
                    if (page.LruPrev != prev)
                    {
                        problems.Add($"pfn {pfn} on the {z.Name} {name} list has a broken back link");
                    }
                    if (!page.Test(PageFlag.PG_lru) || page.Test(PageFlag.PG_active) != active || page.Test(PageFlag.PG_inactive_clean) != clean
                        || page.ZoneIndex != z.Index || page.Count <= 0)
                    {
                        problems.Add($"pfn {pfn} on the {z.Name} {name} list has flags 0x{page.Flags:x} and count {page.Count}");
                    }
                    prev = pfn;
                    n++;
                }
                if (n != count)
                {
                    problems.Add($"{z.Name}: nr_{name} is {count} but the list holds {n}");
                }
            }
        }
        for (int pfn = 0; pfn < MemMap.Length; pfn++)
        {
            if (MemMap[pfn].Test(PageFlag.PG_lru) && !onList.Contains(pfn))
            {
                problems.Add($"pfn {pfn} has PG_lru but is on no LRU list");
            }
        }
    }
}
