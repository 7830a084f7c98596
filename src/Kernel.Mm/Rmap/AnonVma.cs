// Linux 2.6.20 include/linux/rmap.h struct anon_vma: the list of VMAs that may map an anonymous
// page (the VMA it was faulted in, and its copies in forked children and split halves). An
// anonymous page's mapping points here (with PAGE_MAPPING_ANON); page_referenced and
// try_to_unmap walk the list and compute each VMA's address from page->index.
using Kernel.Mm.Memory;
using Kernel.Mm.Slab;

namespace Kernel.Mm.Rmap;

public sealed class AnonVma
{
    internal AnonVma(int handle, SlabObject obj)
    {
        Handle = handle;
        SlabObj = obj;
    }

    /// <summary>The value page->mapping holds: odd, (index &lt;&lt; 1) | PAGE_MAPPING_ANON.</summary>
    public int Handle { get; }

    /// <summary>anon_vma->lock: guards Head (anon_vma_link/unlink and page_lock_anon_vma's walk).</summary>
    public Kernel.Core.Locking.KSpinLock Lock { get; } = new("anon_vma->lock");

    // ---- Guarded by Lock ----
    /// <summary>anon_vma->head: the VMAs linked to it.</summary>
    public List<Vma> Head { get; } = new();

    internal SlabObject SlabObj;
}

/// <summary>How this kernel finds the PTEs that map a page (an option per kernel instance).</summary>
public enum RmapMode
{
    /// <summary>2.6.20: anon_vma chains for anonymous pages, i_mmap for file pages.</summary>
    ObjRmap,
    /// <summary>2.5 / 2.6.0: a chain of PTE addresses per page, from slab, with the direct-PTE optimisation.</summary>
    PteChain,
    /// <summary>2.4: no reverse map; scan every process's page tables.</summary>
    None,
}
