// 2.6.20's design behind the ops table: the two per-zone lists, mark_page_accessed's two-touch
// promotion, and shrink_zone as PageReclaim implements it (nr_active >> priority of the active
// list and nr_inactive >> priority of the inactive list per pass). CLOCK-Pro derives from it and
// changes only how much of the active list a pass scans and where a refault goes.
namespace Kernel.Mm.Vmscan;

/// <summary>2.6.20's two-list LRU.</summary>
public class TwoListLru : ReplacementPolicyOps
{
    internal TwoListLru(PageReclaim reclaim, MemorySubsystem mem)
        : base(reclaim, mem)
    {
    }

    public override ReplacementPolicy Kind => ReplacementPolicy.Lru;

    public override string Name => "lru";

    internal override ValueTask<long> ShrinkZone(int priority, Zone zone, ScanControl sc) => Reclaim.ShrinkZone26(priority, zone, sc, this);

    /// <summary>shrink_active_list looked at `scanned` active pages of `zone`.</summary>
    internal virtual void ActiveScanned(Zone zone, long scanned)
    {
    }

    /// <summary>shrink_zone's share of the active list for one pass.</summary>
    internal virtual long ActiveScanShare(Zone zone, int priority) => (zone.NrActive >> priority) + 1;
}
