// Linux 2.6.20 mm/memory.c do_swap_page: a fault on a PTE that holds a swap entry. The page is
// looked for in the swap cache (a minor fault if reclaim has not freed it yet); otherwise the
// pages around it in swap are read ahead and it is read into a new swap cache page (a major
// fault: the fault sleeps on the locked page and runs again, finding it cached). Under the page
// lock the PTE is checked again, the page is mapped (writable at once for a write when nothing
// else uses its swap copy, can_share_swap_page) and the PTE's use of the entry is freed; a swap
// area more than half full also drops the page's swap copy (remove_exclusive_swap_page).
using Kernel.Mm.Swap;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    /// <summary>do_swap_page for the swap PTE `pte` at `addr`.</summary>
    private FaultResult DoSwapPage(Vma vma, long addr, bool write, ref ulong pte)
    {
        var swap = _mem.Swap;
        ulong orig = pte;
        var entry = SwpEntry.FromPte(orig);
        int pfn = swap.LookupSwapCache(entry);
        if (pfn < 0)
        {
            swap.SwapinReadahead(entry);
            pfn = swap.ReadSwapCacheAsync(entry);
            if (pfn < 0)
            {
                // No page (the allocation sleeps in reclaim and the fault runs again), or the
                // entry was freed because someone else faulted it in meanwhile.
                return pte == orig ? FaultResult.Oom : FaultResult.Minor;
            }
            _mem.PgMajFault++; // counted once: the fault that runs again finds the page cached
        }
        _mem.MarkPageAccessed(pfn);
        if (!_mem.PageWait.TryLockPage(pfn))
        {
            // lock_page: the read is in flight (or reclaim holds it). Sleep on it and fault again.
            _mem.PutPage(pfn);
            return _mem.DeferWait(new MmWait(MmWaitKind.PageLocked, Pfn: pfn)) ? FaultResult.Retry : FaultResult.Sigbus;
        }
        ref var page = ref _mem.PageAt(pfn);
        if (pte != orig || !page.Test(PageFlag.PG_swapcache) || page.Private != entry.Val)
        {
            // Someone else mapped it first, or the page left the cache while we slept.
            _mem.PageWait.UnlockPage(pfn);
            _mem.PutPage(pfn);
            return FaultResult.Minor;
        }
        if (!page.Test(PageFlag.PG_uptodate))
        {
            _mem.PageWait.UnlockPage(pfn);
            _mem.PutPage(pfn);
            return FaultResult.Sigbus; // the read failed
        }
        if (!_mem.Rmap.AnonVmaPrepare(vma) || !_mem.Rmap.AddPte(pfn, this, addr))
        {
            _mem.PageWait.UnlockPage(pfn);
            _mem.PutPage(pfn);
            return FaultResult.Oom;
        }
        AnonRss++;
        // mk_pte(page, vma->vm_page_prot): a private mapping's pages start read-only (COW).
        ulong prot = Paging._PAGE_PRESENT | Paging._PAGE_USER | Paging._PAGE_ACCESSED;
        bool written = false;
        if (write && swap.CanShareSwapPage(pfn))
        {
            prot |= Paging._PAGE_RW | Paging._PAGE_DIRTY; // maybe_mkwrite(pte_mkdirty())
            written = true;
        }
        pte = Paging.MkPte(pfn, prot); // the lookup's reference is the PTE's now
        if (++page.MapCount == 0)
        {
            // page_add_anon_rmap: the first mapping names the VMA's anon_vma and the page's index in it.
            page.Mapping = _mem.Rmap.AnonMappingFor(vma);
            page.Index = vma.LinearPageIndex(addr);
            _mem.NrAnonPages++;
        }
        swap.SwapFree(entry);
        if (swap.VmSwapFull)
        {
            swap.RemoveExclusiveSwapPage(pfn);
        }
        _mem.PageWait.UnlockPage(pfn);
        if (write && !written)
        {
            return DoWpPage(vma, addr, ref pte);
        }
        return FaultResult.Minor;
    }

    /// <summary>
    /// unuse_pte (swapoff): if the PTE at `addr` still holds `entry`, map the locked swap cache page
    /// `pfn` there instead: read-only and old (a write copies it unless it is the only user), with
    /// its own reference, the entry's use freed and the page activated. False if the PTE changed.
    /// </summary>
    internal bool UnusePte(long addr, SwpEntry entry, int pfn)
    {
        ref ulong pte = ref FindPte(addr);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref pte) || pte != entry.ToPte())
        {
            return false;
        }
        var vma = Vmas.FindVma(addr);
        if (vma is null || vma.VmStart > addr || !_mem.Rmap.AnonVmaPrepare(vma) || !_mem.Rmap.AddPte(pfn, this, addr))
        {
            return false;
        }
        ref var page = ref _mem.PageAt(pfn);
        page.Count++; // get_page
        AnonRss++;
        pte = Paging.MkPte(pfn, Paging._PAGE_PRESENT | Paging._PAGE_USER);
        if (++page.MapCount == 0)
        {
            page.Mapping = _mem.Rmap.AnonMappingFor(vma);
            page.Index = vma.LinearPageIndex(addr);
            _mem.NrAnonPages++;
        }
        _mem.Swap.SwapFree(entry);
        _mem.ActivatePage(pfn);
        return true;
    }

    /// <summary>The pages of this mm's areas below `addr`: the PTEs unuse_mm tests before it reaches addr.</summary>
    internal long PagesBelow(long addr)
    {
        long n = 0;
        foreach (var v in Vmas.InOrder())
        {
            if (v.VmStart >= addr)
            {
                break;
            }
            n += (Math.Min(v.VmEnd, addr + MemoryLayout.PAGE_SIZE) - v.VmStart) >> MemoryLayout.PAGE_SHIFT;
        }
        return n;
    }
}
