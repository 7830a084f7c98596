// The replacement-policy ops table: the places where the page-replacement designs the seeds
// compare differ, so that one kernel can run any of them and switch at run time
// (/proc/sys/vm/page_replacement, MemoryOptions.Replacement). Everything else — the struct page
// array, the page cache, rmap, swap, writeback, the allocator, kswapd's thread and direct
// reclaim's entry — is shared, so a comparison measures the policy and not the plumbing.
namespace Kernel.Mm.Vmscan;

/// <summary>Which design chooses the pages to evict.</summary>
public enum ReplacementPolicy
{
    /// <summary>2.6.20's two-list LRU (the default).</summary>
    Lru,
    /// <summary>CLOCK-Pro's refault-distance adaptation over the two lists (van Riel's 2.6.12 patches).</summary>
    ClockPro,
    /// <summary>2.4.0's page aging: active, inactive_dirty and inactive_clean lists, page_launder, a dynamic inactive target.</summary>
    Aging24,
    /// <summary>2.4.10's VM (Arcangeli): two lists kept at two thirds active, dirty pages written as met, swap_out when too many mapped pages are met.</summary>
    Vm2410,
}

/// <summary>What reclaim asks the design in use.</summary>
public abstract class ReplacementPolicyOps
{
    private protected ReplacementPolicyOps(PageReclaim reclaim, MemorySubsystem mem)
    {
        Reclaim = reclaim;
        Mem = mem;
    }

    private protected PageReclaim Reclaim { get; }

    private protected MemorySubsystem Mem { get; }

    /// <summary>The design.</summary>
    public abstract ReplacementPolicy Kind { get; }

    /// <summary>Its word in /proc/sys/vm/page_replacement.</summary>
    public abstract string Name { get; }

    /// <summary>lru_cache_add: does a new page the caller would put on `requestedActive`'s list go to the active list?</summary>
    internal virtual bool NewPageActive(bool requestedActive) => requestedActive;

    /// <summary>A page joined an LRU list (its first time since allocation).</summary>
    internal virtual void PageAddedToLru(ref Page page)
    {
    }

    /// <summary>mark_page_accessed: a read or write found the page in the cache.</summary>
    internal virtual void MarkPageAccessed(int pfn) => Mem.MarkPageAccessed26(pfn);

    /// <summary>Reclaim from one zone at `priority` (12 = a 4096th of the lists, 0 = all): the pages freed.</summary>
    internal abstract ValueTask<long> ShrinkZone(int priority, Zone zone, ScanControl sc);

    /// <summary>A page that reclaim evicted was read back in; `distance` is its refault distance (or -1).</summary>
    internal virtual void PageRefault(Zone zone, long distance, int pfn)
    {
    }

    /// <summary>kswapd sleeps this many jiffies at most between runs (0: until woken).</summary>
    internal virtual long KswapdTimeout => 0;

    /// <summary>kswapd runs 2.6.20's balance_pgdat (every zone back above pages_high) after its periodic work.</summary>
    internal virtual bool BalancesWatermarks => true;

    /// <summary>kswapd's periodic work when it wakes (2.4's background aging), before it balances the zones.</summary>
    internal virtual ValueTask KswapdPeriodic() => ValueTask.CompletedTask;

    /// <summary>The allocator found no free page above the low mark: pages the design can hand it at once (2.4.0's reclaim_page).</summary>
    internal virtual long ReclaimCleanPages(Zone zone, long wanted) => 0;

    /// <summary>The design was switched to (or booted with).</summary>
    internal virtual void Enter()
    {
    }

    /// <summary>The design is being switched away from: leave the lists as the 2.6 code expects them.</summary>
    internal virtual void Leave()
    {
    }
}
