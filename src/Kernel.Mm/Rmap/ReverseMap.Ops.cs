// The operations reclaim and writeback build on the reverse map (Linux 2.6.20 mm/rmap.c):
// page_referenced tests and clears the accessed bit of every PTE mapping a page;
// try_to_unmap removes every such PTE (an anonymous page's become swap entries); page_mkclean write-protects and cleans the shared PTEs of a dirty file
// page before writeback. Each works in any rmap mode; only the cost of finding the PTEs differs,
// and that cost is charged to the CPU that runs the walk (RmapQuery only reports it).
using Kernel.Mm.Memory;

namespace Kernel.Mm.Rmap;

/// <summary>try_to_unmap's answer.</summary>
public enum UnmapResult
{
    SWAP_SUCCESS,
    SWAP_AGAIN,
    SWAP_FAIL,
}

public sealed partial class ReverseMap
{
    /// <summary>
    /// The PTEs of `pfn`, the walk's cost charged to the CPU that runs it. In objrmap mode the walk
    /// holds the page's anon_vma->lock (page_lock_anon_vma) or its file's i_mmap_lock for its whole
    /// cost, so a second CPU walking the same object spins until the first is done.
    /// </summary>
    private IReadOnlyList<(MmStruct Mm, long Addr)> Walk(int pfn)
    {
        var r = FindPtes(pfn);
        WalkPtesVisited += r.PtesVisited;
        var m = _mem.Machine;
        var lk = WalkLock(pfn);
        if (lk is null)
        {
            m.Charge(r.CostNs);
        }
        else
        {
            m.ChargeLock(lk, m.ThisCpu, r.CostNs);
        }
        return r.Ptes;
    }

    /// <summary>PTEs (or, in objrmap, VMAs) examined by page_referenced's and try_to_unmap's walks so far: reclaim's rmap work.</summary>
    public long WalkPtesVisited { get; private set; }

    /// <summary>The lock objrmap's walk of `pfn` takes, or null (other modes, or an unmapped page).</summary>
    public Kernel.Core.Locking.KSpinLock? WalkLock(int pfn)
    {
        if (Mode != RmapMode.ObjRmap)
        {
            return null;
        }
        ref var page = ref _mem.PageAt(pfn);
        return page.IsAnon ? AnonVmaOf(page.Mapping)?.Lock : _mem.AddressSpaceOf(page.Mapping)?.IMmapLock;
    }

    /// <summary>page_referenced: how many PTEs (plus PG_referenced) saw an access since the last check; clears them.</summary>
    public int PageReferenced(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        int referenced = 0;
        if (page.Test(PageFlag.PG_referenced))
        {
            page.Clear(PageFlag.PG_referenced);
            referenced++;
        }
        if (page.MapCount < 0)
        {
            return referenced; // page_referenced walks only a mapped page
        }
        bool file = !page.IsAnon;
        foreach (var (mm, addr) in Walk(pfn))
        {
            // page_referenced_file: an mlocked shared mapping counts as a reference and ends the walk.
            if (file && mm.Vmas.FindVma(addr) is { } vma && vma.Has(VmFlags.VM_LOCKED) && vma.Has(VmFlags.VM_MAYSHARE))
            {
                referenced++;
                break;
            }
            if (mm.TestAndClearYoung(addr))
            {
                referenced++;
            }
        }
        return referenced;
    }

    /// <summary>
    /// try_to_unmap: drop every PTE of a page. A PTE in an mlocked area, or one referenced
    /// since page_referenced looked (its young bit is cleared on the way), fails the whole call
    /// with SWAP_FAIL so reclaim reactivates the page. An anonymous page must be in the swap
    /// cache (add_to_swap): each of its PTEs becomes the page's swap entry.
    /// </summary>
    public UnmapResult TryToUnmap(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (page.IsAnon && !page.Test(PageFlag.PG_swapcache))
        {
            return UnmapResult.SWAP_FAIL;
        }
        foreach (var (mm, addr) in Walk(pfn))
        {
            var vma = mm.Vmas.FindVma(addr);
            if ((vma is not null && vma.Has(VmFlags.VM_LOCKED)) || mm.TestAndClearYoung(addr))
            {
                return UnmapResult.SWAP_FAIL;
            }
            mm.UnmapOne(addr, pfn);
        }
        return _mem.PageAt(pfn).MapCount < 0 ? UnmapResult.SWAP_SUCCESS : UnmapResult.SWAP_AGAIN;
    }

    /// <summary>page_mkclean: write-protect and clean the shared mappings of a file page; true if any PTE was dirty.</summary>
    public bool PageMkclean(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (page.IsAnon || page.MapCount < 0)
        {
            return false; // page_mkclean walks only a mapped page
        }
        bool dirty = false;
        foreach (var (mm, addr) in Walk(pfn))
        {
            var vma = mm.Vmas.FindVma(addr);
            if (vma is not null && vma.Has(VmFlags.VM_SHARED))
            {
                dirty |= mm.CleanAndProtect(addr);
            }
        }
        return dirty;
    }
}
