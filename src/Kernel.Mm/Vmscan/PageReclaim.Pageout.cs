// Linux 2.6.20 mm/vmscan.c pageout and remove_mapping: writing a dirty page that reclaim chose
// through a_ops->writepage, and taking a clean one out of its mapping so it can be freed (the 2.4
// designs free the pages their own scans take off the lists the same way).
using Kernel.Core.Tasks;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Vmscan;

public sealed partial class PageReclaim
{
    private enum PageoutResult
    {
        Keep,
        Activate,
        Success,
        Clean,
    }

    /// <summary>pageout: write a dirty, otherwise unused page through a_ops->writepage unless its queue is congested; PG_reclaim rotates it when the write ends.</summary>
    private PageoutResult Pageout(int pfn, AddressSpace mapping)
    {
        ref var page = ref _mem.MemMap[pfn];
        if (page.Count != 2) // is_page_cache_freeable: the cache's reference and ours
        {
            return PageoutResult.Keep;
        }
        var current = M.ThisCpu.Curr;
        if (mapping.BackingDevInfo is { WriteCongested: true } && (current.Flags & TaskFlags.PF_SWAPWRITE) == 0)
        {
            return PageoutResult.Keep; // may_write_to_queue
        }
        if (!_mem.Writeback.ClearPageDirtyForIo(mapping, pfn))
        {
            return PageoutResult.Clean;
        }
        page.Set(PageFlag.PG_reclaim);
        int res = mapping.AOps.WritePage(_mem, mapping, pfn);
        if (_mem.Tracepoints.Writepage.Enabled)
        {
            _mem.Tracepoints.Writepage.Emit(new MmVmscanWritepage(M.Now, M.ThisCpu.Id, pfn, res));
        }
        if (res == AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE)
        {
            page.Clear(PageFlag.PG_reclaim);
            return PageoutResult.Activate;
        }
        if (!page.Test(PageFlag.PG_writeback))
        {
            page.Clear(PageFlag.PG_reclaim); // a synchronous write
        }
        VmscanWrite++;
        return PageoutResult.Success;
    }

    /// <summary>
    /// A 2.4 design's scan took the locked page `pfn` off its list: free it as remove_mapping
    /// does (with a reference taken as isolate_lru_pages would), or put it back on the inactive
    /// list unlocked. True if it was freed.
    /// </summary>
    internal bool FreeUnlistedPage(Zone zone, int pfn, AddressSpace mapping)
    {
        ref var page = ref _mem.MemMap[pfn];
        page.Clear(PageFlag.PG_lru);
        page.Count++;
        if (RemoveMapping(pfn, mapping))
        {
            return true;
        }
        page.Set(PageFlag.PG_lru);
        _mem.AddPageToInactiveList(zone, pfn);
        _mem.PageWait.UnlockPage(pfn);
        _mem.PutPage(pfn);
        return false;
    }

    /// <summary>remove_mapping: a clean page with only the cache's and our references leaves its mapping; the caller's reference frees it.</summary>
    internal bool RemoveMapping(int pfn, AddressSpace mapping)
    {
        ref var page = ref _mem.MemMap[pfn];
        if (page.Count != 2 || page.Test(PageFlag.PG_dirty))
        {
            return false;
        }
        if (page.Test(PageFlag.PG_swapcache))
        {
            PageEvicted(_mem.Zones[page.ZoneIndex], _mem.Swap.SwapperSpace.Handle, page.Private);
            _mem.Swap.ReleaseCleanSwapPage(pfn); // __delete_from_swap_cache + swap_free: the copy in swap is the data now
            _mem.PageWait.UnlockPage(pfn);
            _mem.PutPage(pfn);
            return true;
        }
        PageEvicted(_mem.Zones[page.ZoneIndex], mapping.Handle, page.Index);
        GenericFile.RemoveFromPageCache(_mem, mapping, page.Index, pfn); // and __put_page of the cache's reference
        _mem.PageWait.UnlockPage(pfn);
        _mem.PutPage(pfn); // the isolation's reference: the page is free
        return true;
    }
}
