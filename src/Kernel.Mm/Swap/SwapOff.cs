// Linux 2.6.20 mm/swapfile.c sys_swapoff and try_to_unuse: the area stops taking pages, then
// every page still in it is brought back. For each used entry (find_next_to_unuse), the page is
// read into the swap cache (or found there), locked, and every PTE naming the entry is pointed at
// it (unuse_pte, read-only and old, so a write copies it if it is still shared); then the page
// leaves the swap cache, dirty, as its only copy is in memory now. Memory for the pages comes the
// usual way, so a machine short of memory reclaims (to other areas), and when nothing is left
// the allocation fails: swapoff ends with -ENOMEM (or the OOM killer frees memory first) and the
// area goes back into use with what was not yet brought back. A signal ends it with -EINTR.
//
// Linux finds an entry's PTEs by walking the mms (mmlist) page table by page table, which is why
// swapoff of a big area is slow (quadratic); the walk's cost is charged (MmCosts.UnusePteNs per
// PTE Linux tests), but the host finds the PTEs through an index built once, checked against the
// PTE each time and followed by a full walk whenever users are still left.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Swap;

public sealed partial class SwapAreas
{
    /// <summary>Pages swapoff brought back (its try_to_unuse loop's entries), over this kernel's life.</summary>
    public long UnusedPages { get; private set; }

    /// <summary>PTEs try_to_unuse's page-table walks would have looked at (the quadratic part of swapoff, charged at MmCosts.UnusePteNs each).</summary>
    public long UnusePtesCharged { get; private set; }

    /// <summary>
    /// sys_swapoff after the open: take the area out of use and bring its pages back. 0, -EINVAL when
    /// `mapping` is not a swap area, -ENOMEM when memory without it would not cover what is committed
    /// or its pages could not all come back, -EINTR when a signal came first. On an error the area is
    /// in use again, holding the pages not yet brought back.
    /// </summary>
    public async ValueTask<long> Swapoff(AddressSpace mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        int type = Array.FindIndex(_info, s => s is not null && s.Mapping == mapping && (s.Flags & SwapFlags.SWP_WRITEOK) != 0);
        if (type < 0)
        {
            return Errno.EINVAL.Ret();
        }
        var si = _info[type]!;
        if (_mem.Overcommit.VmEnoughMemory(si.Pages, mm: null) < 0)
        {
            return Errno.ENOMEM.Ret();
        }
        _mem.Overcommit.Unacct(si.Pages);
        si.Flags &= ~SwapFlags.SWP_WRITEOK;
        NrSwapPages -= si.Pages - si.InusePages;
        TotalSwapPages -= si.Pages;
        RebuildSwapList();
        var current = _mem.Machine.ThisCpu.Curr;
        current.Flags |= TaskFlags.PF_SWAPOFF;
        long err;
        try
        {
            err = await TryToUnuse(si);
        }
        finally
        {
            current.Flags &= ~TaskFlags.PF_SWAPOFF;
        }
        if (err < 0)
        {
            si.Flags |= SwapFlags.SWP_WRITEOK; // re-insert the area into swap_list
            NrSwapPages += si.Pages - si.InusePages;
            TotalSwapPages += si.Pages;
            RebuildSwapList();
            return err;
        }
        si.Flags = SwapFlags.None;
        _info[type] = null;
        return 0;
    }

    /// <summary>try_to_unuse: bring back every used page of the area. 0, -ENOMEM or -EINTR.</summary>
    private async ValueTask<long> TryToUnuse(SwapInfo si)
    {
        var m = _mem.Machine;
        var index = IndexSwapPtes(si.Type);
        long i = 0;
        while ((i = FindNextToUnuse(si, i)) != 0)
        {
            if (Machine.SignalPending(m.ThisCpu.Curr))
            {
                return Errno.EINTR.Ret();
            }
            var entry = SwpEntry.Make(si.Type, i);
            int pfn = await ReadForUnuse(entry);
            if (pfn < 0)
            {
                if (si.SwapMap[i] == 0)
                {
                    continue; // freed meanwhile (the process exited or faulted it in)
                }
                return Errno.ENOMEM.Ret();
            }
            await _mem.PageWait.WaitOnPageLocked(m, pfn);
            await _mem.PageWait.WaitOnPageWriteback(m, pfn);
            await _mem.PageWait.LockPage(m, pfn);
            await _mem.PageWait.WaitOnPageWriteback(m, pfn);
            ref var page = ref _mem.PageAt(pfn);
            if (!page.Test(PageFlag.PG_uptodate))
            {
                // The read failed: the data is lost to every user; leave the entry (Linux would map a garbage page).
                _mem.PageWait.UnlockPage(pfn);
                _mem.PutPage(pfn);
                return Errno.EIO.Ret();
            }
            if (si.SwapMap[i] > 1)
            {
                UnuseIndexed(index, entry, pfn);
            }
            bool shmem = si.SwapMap[i] > 1 && _mem.Shmem.Unuse(entry, pfn); // shmem_unuse: a tmpfs page goes back to its file
            if (!shmem && si.SwapMap[i] > 1)
            {
                UnuseEverywhere(entry, pfn); // the index missed some (a fork or mremap since it was built)
            }
            if (si.SwapMap[i] == SwapInfo.SWAP_MAP_MAX)
            {
                si.SwapMap[i] = 1; // an overflowed count, reset as 2.6.20 does
            }
            if (page.Test(PageFlag.PG_swapcache))
            {
                DeleteFromSwapCache(pfn);
            }
            // No PTE was made dirty, so the page must be: its only copy is this one.
            page.Set(PageFlag.PG_dirty);
            _mem.PageWait.UnlockPage(pfn);
            _mem.PutPage(pfn);
            UnusedPages++;
            await m.CondResched();
        }
        return 0;
    }

    /// <summary>read_swap_cache_async as swapoff calls it: sleeping in reclaim as an allocation would.</summary>
    private async ValueTask<int> ReadForUnuse(SwpEntry entry)
    {
        bool mayDefer = true;
        while (true)
        {
            _mem.BeginSync(mayDefer);
            int pfn = ReadSwapCacheAsync(entry);
            var w = _mem.EndSync();
            if (pfn >= 0 || w.IsNone)
            {
                return pfn;
            }
            mayDefer = await _mem.SleepFor(w);
        }
    }

    /// <summary>find_next_to_unuse: the next used entry after `prev`, wrapping once to the start; 0 when none is left.</summary>
    private static long FindNextToUnuse(SwapInfo si, long prev)
    {
        long max = si.Max;
        long i = prev;
        while (true)
        {
            if (++i >= max)
            {
                if (prev == 0)
                {
                    return 0;
                }
                max = prev + 1;
                prev = 0;
                i = 1;
            }
            int count = si.SwapMap[i];
            if (count != 0 && count != SwapInfo.SWAP_MAP_BAD)
            {
                return i;
            }
        }
    }

    /// <summary>Where each entry of the area is named by a PTE, found in one walk of every mm.</summary>
    private Dictionary<uint, List<(MmStruct Mm, long Addr)>> IndexSwapPtes(int type)
    {
        var index = new Dictionary<uint, List<(MmStruct, long)>>();
        foreach (var mm in _mem.Mms)
        {
            foreach (var (addr, entry) in mm.SwapPtes())
            {
                if (entry.Type != type)
                {
                    continue;
                }
                if (!index.TryGetValue(entry.Val, out var list))
                {
                    index[entry.Val] = list = new List<(MmStruct, long)>(1);
                }
                list.Add((mm, addr));
            }
        }
        return index;
    }

    private void UnuseIndexed(Dictionary<uint, List<(MmStruct Mm, long Addr)>> index, SwpEntry entry, int pfn)
    {
        if (!index.Remove(entry.Val, out var users))
        {
            return;
        }
        foreach (var (mm, addr) in users)
        {
            if (!mm.Released && mm.UnusePte(addr, entry, pfn))
            {
                // What unuse_mm would have tested to get here: every PTE of the mm's areas below addr.
                long looked = mm.PagesBelow(addr);
                UnusePtesCharged += looked;
                _mem.Machine.Charge(looked * _mem.Options.Costs.UnusePteNs);
            }
        }
    }

    /// <summary>unuse_mm over every mm, as Linux walks them: every PTE of every area is tested.</summary>
    private void UnuseEverywhere(SwpEntry entry, int pfn)
    {
        foreach (var mm in _mem.Mms.ToList())
        {
            foreach (var (addr, e) in mm.SwapPtes())
            {
                if (e.Val == entry.Val)
                {
                    mm.UnusePte(addr, entry, pfn);
                }
            }
            UnusePtesCharged += mm.TotalVm;
            _mem.Machine.Charge(mm.TotalVm * _mem.Options.Costs.UnusePteNs);
        }
    }
}
