// CLOCK-Pro as Rik van Riel's 2.6.12 patches put it on the two 2.6 lists (the LWN seed of August
// 2005): every eviction is remembered in the nonresident table; when a page comes back its
// refault distance is compared with the distance of the oldest active page, estimated from the
// recent rates of active scanning and eviction (the pages evicted while the whole active list is
// scanned once). A nearer refault means the wrong pages are in memory: the page goes straight to
// the active list and the active target shrinks, leaving more room to test inactive pages; a
// farther one goes to the inactive list and the active target grows slowly. shrink_zone then
// scans the active list only for its surplus over the target. Refaults are remembered and
// counted (/proc/refaults) under every policy, so their histograms compare.
namespace Kernel.Mm.Vmscan;

/// <summary>CLOCK-Pro's refault-distance adaptation over the 2.6 lists.</summary>
public sealed class ClockProPolicy : TwoListLru
{
    internal ClockProPolicy(PageReclaim reclaim, MemorySubsystem mem)
        : base(reclaim, mem)
    {
    }

    public override ReplacementPolicy Kind => ReplacementPolicy.ClockPro;

    public override string Name => "clockpro";

    /// <summary>Refaults found nearer than the oldest active page (activated), and the others.</summary>
    public long HotRefaults { get; private set; }

    public long ColdRefaults { get; private set; }

    /// <summary>
    /// The oldest active page's distance in evictions: the pages evicted while the whole active list
    /// is scanned once at the recent rate; unbounded while the active list is not being scanned.
    /// </summary>
    public static long OldestActiveDistance(Zone zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return zone.ClockProActiveScanned == 0 ? long.MaxValue : zone.NrActive * zone.ClockProEvicted / zone.ClockProActiveScanned;
    }

    /// <summary>The rate the oldest active page's distance is estimated from: active pages scanned against pages evicted, both halved as they grow.</summary>
    internal override void ActiveScanned(Zone zone, long scanned)
    {
        zone.ClockProActiveScanned += scanned;
        if (zone.ClockProActiveScanned > 2 * Math.Max(1, zone.NrActive))
        {
            zone.ClockProActiveScanned /= 2;
            zone.ClockProEvicted /= 2;
        }
    }

    internal override void PageRefault(Zone zone, long distance, int pfn)
    {
        InitActiveTarget(zone);
        if (distance >= 0 && distance < OldestActiveDistance(zone))
        {
            HotRefaults++;
            zone.ActiveTarget = Math.Max(zone.PresentPages / 16, zone.ActiveTarget - 1);
            if (zone.NrInactive >= InactiveFloor(zone))
            {
                Mem.LruCacheMoveToActive(pfn); // (not while the inactive list is too short to free from)
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

    private static long InactiveFloor(Zone zone) => Math.Max(PageReclaim.SWAP_CLUSTER_MAX, (zone.NrActive + zone.NrInactive) / 8);

    /// <summary>Only the active list's surplus over the target is scanned.</summary>
    internal override long ActiveScanShare(Zone zone, int priority)
    {
        if (zone.NrInactive < InactiveFloor(zone))
        {
            // Referenced active pages rotate instead of leaving, so a surplus scan alone can run
            // the inactive list dry: then the whole list is scanned as 2.6.20 does.
            return base.ActiveScanShare(zone, priority);
        }
        long surplus = zone.NrActive - EffectiveActiveTarget(zone);
        return surplus > 0 ? (surplus >> priority) + 1 : 0;
    }
}
