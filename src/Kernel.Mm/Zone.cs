// Linux 2.6.20 include/linux/mmzone.h struct zone, free_area and per_cpu_pages. A zone is a
// range of mem_map with its own buddy lists (guarded by Lock) and, per CPU, a hot and a cold
// list of order-0 pages that are allocated and freed without taking the zone lock.
using Kernel.Core.Locking;

namespace Kernel.Mm;

public sealed class Zone
{
    public const int MAX_ORDER = 11;

    internal Zone(int index, ZoneSpec spec, int cpus, int sizeofStructPage)
    {
        Index = index;
        Type = spec.Type;
        Name = spec.Name;
        ZoneStartPfn = spec.StartPfn;
        SpannedPages = spec.EndPfn - spec.StartPfn;
        // free_area_init_core: the zone's share of mem_map is not present memory.
        long memmapPages = SpannedPages * sizeofStructPage >> MemoryLayout.PAGE_SHIFT;
        PresentPages = SpannedPages >= memmapPages ? SpannedPages - memmapPages : SpannedPages;
        Lock = new KSpinLock($"zone.{spec.Name}.lock");
        LruLock = new KSpinLock($"zone.{spec.Name}.lru_lock");
        for (int o = 0; o < MAX_ORDER; o++)
        {
            FreeArea[o] = new FreeArea();
        }
        Pageset = new PerCpuPageset[cpus];
        for (int c = 0; c < cpus; c++)
        {
            Pageset[c] = new PerCpuPageset();
        }
    }

    /// <summary>Index in the node's zone array (what page flags store).</summary>
    public int Index { get; }

    public ZoneType Type { get; }

    public string Name { get; }

    public long ZoneStartPfn { get; }

    public long SpannedPages { get; }

    /// <summary>zone_pgdat: the node the zone belongs to.</summary>
    public PglistData ZonePgdat { get; internal set; } = null!;

    /// <summary>present_pages: spanned pages less the zone's own mem_map (free_area_init_core).</summary>
    public long PresentPages { get; }

    public bool IsHighmem => Type == ZoneType.ZONE_HIGHMEM;

    /// <summary>zone->lru_lock: guards the zone's active and inactive lists and PG_lru (mm/swap.c, mm/vmscan.c).</summary>
    public KSpinLock LruLock { get; }

    // ---- Guarded by LruLock ----
    /// <summary>active_list: pages in use, the most recently activated at the head; reclaim takes from the tail.</summary>
    internal PfnList ActiveList = PfnList.Empty;

    /// <summary>inactive_list: reclaim candidates, new file pages at the head; shrink_inactive_list takes from the tail.</summary>
    internal PfnList InactiveList = PfnList.Empty;

    /// <summary>2.4.0's inactive_clean list (the Aging24 design only): clean, unmapped pages the allocator may take at once.</summary>
    internal PfnList InactiveCleanList = PfnList.Empty;

    public long NrActive { get; internal set; }

    public long NrInactive { get; internal set; }

    /// <summary>inactive_clean_pages (2.4.0's design; 0 under the others).</summary>
    public long NrInactiveClean { get; internal set; }

    /// <summary>The first pfn of each list (-1 when empty), and the next one after a pfn, for renderers and tests.</summary>
    public int ActiveHead => ActiveList.Head;

    public int InactiveHead => InactiveList.Head;

    /// <summary>nr_scan_active, nr_scan_inactive: scan work owed (shrink_zone accumulates nr >> priority + 1).</summary>
    internal long NrScanActive;

    /// <summary>CLOCK-Pro's active target: the active list's desired maximum (0 until the policy first sets it).</summary>
    public long ActiveTarget { get; internal set; }

    /// <summary>CLOCK-Pro's rate estimate: active pages scanned and pages evicted lately (both halved as they grow).</summary>
    internal long ClockProActiveScanned;

    internal long ClockProEvicted;

    internal long NrScanInactive;

    /// <summary>pages_scanned: pages scanned since the last one was freed (zone_is_near_oom, all_unreclaimable).</summary>
    public long PagesScanned { get; internal set; }

    /// <summary>all_unreclaimable: kswapd found nothing to free after scanning everything six times.</summary>
    public bool AllUnreclaimable { get; internal set; }

    /// <summary>prev_priority: the priority at which this zone was last brought back to pages_high (DEF_PRIORITY when calm).</summary>
    public int PrevPriority { get; internal set; } = Vmscan.PageReclaim.DEF_PRIORITY;

    /// <summary>Per-zone vm events: pgrefill, pgsteal, pgscan_kswapd, pgscan_direct.</summary>
    public long PgRefill { get; internal set; }

    public long PgSteal { get; internal set; }

    public long PgScanKswapd { get; internal set; }

    public long PgScanDirect { get; internal set; }

    // ---- Guarded by Lock ----
    public KSpinLock Lock { get; }

    /// <summary>free_pages: pages on the buddy lists (not the per-CPU lists).</summary>
    public long FreePages { get; internal set; }

    public FreeArea[] FreeArea { get; } = new FreeArea[MAX_ORDER];

    public long PagesMin { get; internal set; }
    public long PagesLow { get; internal set; }
    public long PagesHigh { get; internal set; }

    /// <summary>lowmem_reserve[classzone]: pages kept back from allocations that could use a higher zone.</summary>
    public long[] LowmemReserve { get; internal set; } = [];

    /// <summary>Per-CPU hot [0] and cold [1] page lists.</summary>
    public PerCpuPageset[] Pageset { get; }

    // ---- Statistics (vm_stat / vm events) ----
    public long PgAlloc { get; internal set; }
    public long PgFree { get; internal set; }

    /// <summary>Free pages including those on the per-CPU lists.</summary>
    public long FreePagesIncludingPcp => FreePages + Pageset.Sum(p => p.Hot.Count + p.Cold.Count);

    public override string ToString() => Name;
}

/// <summary>struct free_area: one buddy list (pfns linked through Page.LruNext/LruPrev).</summary>
public sealed class FreeArea
{
    /// <summary>free_list: the free blocks of this order, linked by pfn.</summary>
    internal PfnList List = PfnList.Empty;

    public int Head => List.Head;

    public long NrFree { get; internal set; }
}

/// <summary>struct per_cpu_pageset: pcp[0] hot, pcp[1] cold.</summary>
public sealed class PerCpuPageset
{
    public PerCpuPages Hot { get; } = new();

    public PerCpuPages Cold { get; } = new();

    public PerCpuPages this[bool cold] => cold ? Cold : Hot;
}

/// <summary>struct per_cpu_pages: a LIFO list of order-0 pages with its high mark and batch size.</summary>
public sealed class PerCpuPages
{
    public int Count { get; internal set; }

    public int High { get; internal set; }

    public int Batch { get; internal set; }

    /// <summary>The list: the hottest page at the head.</summary>
    internal PfnList List = PfnList.Empty;

    public int Head => List.Head;

    /// <summary>The coldest page: free_pages_bulk returns pages from here.</summary>
    public int Tail => List.Tail;
}
