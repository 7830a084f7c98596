// Linux 2.4.20 mm/vmscan.c swap_out: how 2.4 took pages away from processes without any reverse
// map. It walks virtual address space, one mm at a time round robin (swap_mm, each mm's
// swap_address cursor), visiting every present PTE once per pass: a young PTE is aged (the bit
// cleared, the page marked accessed) and kept; an old one is unmapped on the spot
// (try_to_swap_out), its dirty bit moving to a file page. An anonymous page first joins the swap
// cache under a new swap entry, which its PTE then names; without swap space its PTE stays. The cost is per PTE visited, amortised over a
// pass: 2.4 never asked "who maps this page" (ReverseMap's None mode answers that question by
// scanning everything only so that the three modes can be compared).
using Kernel.Mm.Memory;

namespace Kernel.Mm.Vmscan;

public sealed class SwapOut24
{
    private readonly MemorySubsystem _mem;
    private int _swapMm;

    public SwapOut24(MemorySubsystem mem)
    {
        ArgumentNullException.ThrowIfNull(mem);
        _mem = mem;
    }

    /// <summary>PTEs examined so far (each costs MmCosts.RmapPteNs).</summary>
    public long PtesVisited { get; private set; }

    /// <summary>
    /// swap_out: unmap up to `nrPages` old user pages, scanning at most two passes over the mms
    /// (counter = mmlist_nr &lt;&lt; 1, as 2.4.20: a young PTE aged on the first lap can go on the second). Returns the pages unmapped that the last unmap freed
    /// or left only in the page cache ("freeable").
    /// </summary>
    public int SwapOut(int nrPages)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nrPages);
        var mms = _mem.Mms;
        int freed = 0;
        long visitedBefore = PtesVisited;
        for (int counter = mms.Count * 2; counter > 0 && freed < nrPages && mms.Count > 0; counter--)
        {
            if (_swapMm >= mms.Count)
            {
                _swapMm = 0;
            }
            var mm = mms[_swapMm];
            freed += SwapOutMm(mm, nrPages - freed);
            if (mm.SwapAddress >= mm.Paging.TaskSize)
            {
                mm.SwapAddress = 0; // this mm was scanned to the end: the next one's turn
                _swapMm++;
            }
        }
        _mem.Machine.Charge((PtesVisited - visitedBefore) * _mem.Options.Costs.RmapPteNs);
        return freed;
    }

    /// <summary>swap_out_mm: from the mm's swap_address onward, VMA by VMA.</summary>
    private int SwapOutMm(MmStruct mm, int count)
    {
        int freed = 0;
        foreach (var vma in mm.Vmas.InOrder())
        {
            if (vma.VmEnd <= mm.SwapAddress)
            {
                continue;
            }
            for (long a = Math.Max(vma.VmStart, mm.SwapAddress); a < vma.VmEnd; a += MemoryLayout.PAGE_SIZE)
            {
                mm.SwapAddress = a + MemoryLayout.PAGE_SIZE;
                if ((mm.GetPte(a) & Paging._PAGE_PRESENT) == 0)
                {
                    continue;
                }
                PtesVisited++;
                if (TryToSwapOut(mm, vma, a))
                {
                    freed++;
                    if (freed == count)
                    {
                        return freed;
                    }
                }
            }
        }
        mm.SwapAddress = mm.Paging.TaskSize;
        return freed;
    }

    /// <summary>try_to_swap_out: keep a locked or young mapping, else unmap a file page.</summary>
    private bool TryToSwapOut(MmStruct mm, Vma vma, long addr)
    {
        if (vma.Has(VmFlags.VM_LOCKED))
        {
            return false;
        }
        int pfn = mm.Paging.PfnOf(mm.GetPte(addr));
        if (pfn == _mem.ZeroPagePfn)
        {
            return false; // PageReserved
        }
        if (mm.TestAndClearYoung(addr))
        {
            _mem.PageAt(pfn).Set(PageFlag.PG_referenced); // mark_page_accessed
            return false;
        }
        if (_mem.PageAt(pfn).IsAnon)
        {
            return TryToSwapOutAnon(mm, addr, pfn);
        }
        mm.UnmapOne(addr, pfn);
        return true;
    }

    /// <summary>An anonymous page gets a swap entry (add_to_swap_cache) and the PTE names the entry; without swap space, or with the page locked, the PTE stays.</summary>
    private bool TryToSwapOutAnon(MmStruct mm, long addr, int pfn)
    {
        if (_mem.Swap.TotalSwapPages == 0 || !_mem.PageWait.TryLockPage(pfn))
        {
            return false;
        }
        bool ok = _mem.PageAt(pfn).Test(PageFlag.PG_swapcache) || _mem.Swap.AddToSwap(pfn);
        if (ok)
        {
            mm.UnmapOne(addr, pfn);
        }
        _mem.PageWait.UnlockPage(pfn);
        return ok;
    }
}
