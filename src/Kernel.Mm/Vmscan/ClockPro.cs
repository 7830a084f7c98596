// The page-replacement designs reclaim can run, and CLOCK-Pro as Rik van Riel's 2.6.12 patches
// put it on the two 2.6 lists (the LWN seed of August 2005): every eviction is remembered in the
// nonresident table; when a page comes back its refault distance is compared with the distance
// of the oldest active page, estimated from the recent rates of active scanning and eviction (the
// pages evicted while the whole active list is scanned once). A nearer refault means the wrong pages are in
// memory: the page goes straight to the active list and the active target shrinks, leaving more
// room to test inactive pages; a farther one goes to the inactive list and the active target grows
// slowly. shrink_zone then scans the active list only for its surplus over the target. Refaults
// are remembered and counted (/proc/refaults) under every policy, so their histograms compare.
namespace Kernel.Mm.Vmscan;

/// <summary>Which design chooses the pages to evict.</summary>
public enum ReplacementPolicy
{
    /// <summary>2.6.20's two-list LRU (the default).</summary>
    Lru,
    /// <summary>CLOCK-Pro's refault-distance adaptation over the two lists.</summary>
    ClockPro,
}

public sealed partial class PageReclaim
{
    /// <summary>The design in use (/proc/sys/vm/page_replacement: "lru" or "clockpro").</summary>
    public ReplacementPolicy Policy { get; set; }

    /// <summary>The nonresident page table (remember_page / recently_evicted).</summary>
    public NonresidentTable Nonresident { get; }

    /// <summary>Refaults CLOCK-Pro found nearer than the oldest active page (activated), and the others.</summary>
    public long HotRefaults { get; private set; }

    public long ColdRefaults { get; private set; }

    /// <summary>remember_page: reclaim evicted the page named (mapping handle, index) from `zone`.</summary>
    internal void PageEvicted(Zone zone, int mapping, long index)
    {
        Nonresident.RememberPage(mapping, index);
        zone.ClockProEvicted++;
    }

    /// <summary>Active pages shrink_active_list scanned in `zone` (the rate the oldest active page's distance is estimated from).</summary>
    private static void NoteActiveScanned(Zone zone, long scanned)
    {
        zone.ClockProActiveScanned += scanned;
        if (zone.ClockProActiveScanned > 2 * Math.Max(1, zone.NrActive))
        {
            zone.ClockProActiveScanned /= 2;
            zone.ClockProEvicted /= 2;
        }
    }

    /// <summary>
    /// The oldest active page's distance in evictions: the pages evicted while the whole active list
    /// is scanned once at the recent rate; unbounded while the active list is not being scanned.
    /// </summary>
    public static long OldestActiveDistance(Zone zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return zone.ClockProActiveScanned == 0 ? long.MaxValue : zone.NrActive * zone.ClockProEvicted / zone.ClockProActiveScanned;
    }

    /// <summary>A page read back in (page_cache_read, read_swap_cache_async): its refault distance decides its list and the active target.</summary>
    internal void PageRefault(int mapping, long index, int pfn)
    {
        long distance = Nonresident.RecentlyEvicted(mapping, index);
        if (Policy != ReplacementPolicy.ClockPro)
        {
            return;
        }
        var zone = _mem.Zones[_mem.PageAt(pfn).ZoneIndex];
        InitActiveTarget(zone);
        long oldestActive = OldestActiveDistance(zone);
        if (distance >= 0 && distance < oldestActive)
        {
            HotRefaults++;
            zone.ActiveTarget = Math.Max(zone.PresentPages / 16, zone.ActiveTarget - 1);
            if (zone.NrInactive >= InactiveFloor(zone))
            {
                _mem.LruCacheMoveToActive(pfn); // (not while the inactive list is too short to free from)
            }
        }
        else
        {
            ColdRefaults++;
            zone.ActiveTarget = Math.Min(zone.PresentPages * 3 / 4, zone.ActiveTarget + 1);
        }
    }

    private static void InitActiveTarget(Zone zone)
    {
        if (zone.ActiveTarget == 0)
        {
            zone.ActiveTarget = zone.PresentPages / 2;
        }
    }

    /// <summary>
    /// The active target shrink_zone works to, never so large that the inactive list runs dry: at
    /// least an eighth of the zone's LRU pages (or a batch) stays inactive, so reclaim always has
    /// pages to test. (Locked pages sit on the 2.6.20 lists too, so a target in present pages alone
    /// could leave nothing to scan and an allocator retrying for ever.)
    /// </summary>
    public static long EffectiveActiveTarget(Zone zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        InitActiveTarget(zone);
        long lru = zone.NrActive + zone.NrInactive;
        long cap = lru - InactiveFloor(zone);
        return Math.Max(0, Math.Min(zone.ActiveTarget, cap));
    }

    private static long InactiveFloor(Zone zone) => Math.Max(SWAP_CLUSTER_MAX, (zone.NrActive + zone.NrInactive) / 8);

    /// <summary>shrink_zone's share of the active list: 2.6.20 scans nr_active >> priority; CLOCK-Pro only the surplus over the active target.</summary>
    private long ActiveScanShare(Zone zone, int priority)
    {
        if (Policy != ReplacementPolicy.ClockPro)
        {
            return (zone.NrActive >> priority) + 1;
        }
        if (zone.NrInactive < InactiveFloor(zone))
        {
            // Referenced active pages rotate instead of leaving, so a surplus scan alone can run
            // the inactive list dry: then the whole list is scanned as 2.6.20 does.
            return (zone.NrActive >> priority) + 1;
        }
        long surplus = zone.NrActive - EffectiveActiveTarget(zone);
        return surplus > 0 ? (surplus >> priority) + 1 : 0;
    }
}
