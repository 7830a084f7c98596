// What memory-management work costs in simulated time. Each cost is charged where the work is
// done, so it scales with the work: per page allocated, zeroed or copied, per PTE copied or
// zapped, per reverse-map entry added, removed or walked, per slab object, per KiB copied to or
// from user space. docs/costs.md tables the defaults with their sources: lmbench-era figures for
// a ~2 GHz x86 of 2006 (memory bandwidth ~4 GB/s), not measurements of one box.
using Kernel.Core;

namespace Kernel.Mm;

public sealed record MmCosts
{
    /// <summary>An order-0 page from or to a per-CPU list (no zone lock).</summary>
    public long PageAllocNs { get; init; } = 100;

    /// <summary>How long buddy-list work holds zone->lock (per call, per block moved).</summary>
    public long ZoneLockHoldNs { get; init; } = 150;

    /// <summary>A page fault's trap, page-table walk and return (the page's own work is charged apart).</summary>
    public long PageFaultNs { get; init; } = 500;

    /// <summary>clear_page: zeroing 4 KiB (__GFP_ZERO, a new anonymous page).</summary>
    public long ClearPageNs { get; init; } = 1_000;

    /// <summary>copy_page: copying 4 KiB (a copy-on-write break, a private file page).</summary>
    public long CopyPageNs { get; init; } = 1_500;

    /// <summary>copy_to_user / copy_from_user per KiB (read, write).</summary>
    public long CopyUserPerKbNs { get; init; } = 250;

    /// <summary>copy_one_pte: one PTE copied (and write-protected) by fork.</summary>
    public long PteCopyNs { get; init; } = 20;

    /// <summary>zap_pte_range: one PTE cleared by munmap, exit or madvise(DONTNEED).</summary>
    public long PteZapNs { get; init; } = 20;

    /// <summary>page_add_*_rmap / page_remove_rmap (pte_chain mode: plus the chain's slab work).</summary>
    public long RmapUpdateNs { get; init; } = 10;

    /// <summary>Each PTE a reverse-map walk (or a 2.4 page-table scan) examines.</summary>
    public long RmapPteNs { get; init; } = 25;

    /// <summary>unuse_pte_range: swapoff's pte_same test of one PTE while it looks for an entry's users.</summary>
    public long UnusePteNs { get; init; } = 2;

    /// <summary>kmem_cache_alloc or kmem_cache_free of one object (per-CPU array hit).</summary>
    public long SlabObjectNs { get; init; } = 30;

    /// <summary>One page put on, moved between or taken off the LRU lists under zone->lru_lock.</summary>
    public long LruMoveNs { get; init; } = 50;

    /// <summary>shrink_page_list's work on one page (lock, flag checks, remove_mapping), apart from its rmap walk.</summary>
    public long ReclaimPageNs { get; init; } = 300;

    public static MmCosts Default { get; } = new();

    /// <summary>Memory work is free: isolates policy from overhead.</summary>
    public static MmCosts Free { get; } = CostRecords.AllFree<MmCosts>();

    internal void Validate() => CostRecords.Validate(this);
}
