// Linux 2.6.20 mm/swap_state.c, the swap cache: swapper_space holds the pages that have a copy
// (or a copy on its way) in swap, keyed by their swp_entry_t, with PG_swapcache set and the entry
// in page->private. Reclaim gives an anonymous page an entry (add_to_swap) before it unmaps it, so
// every PTE that loses the page gets the entry instead; a fault on such a PTE finds the page here
// while it is still in memory (a minor fault) or reads it back into a new cache page
// (read_swap_cache_async, a major fault). The cache holds one reference on each page and counts
// as one user of its entry.
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Swap;

public sealed partial class SwapAreas
{
    /// <summary>total_swapcache_pages (SwapCached in /proc/meminfo).</summary>
    public long TotalSwapcachePages { get; private set; }

    /// <summary>swap_cache_info: add_total, del_total, find_success, find_total ("Swap cache:" in show_mem).</summary>
    public long AddTotal { get; private set; }

    public long DelTotal { get; private set; }

    public long FindSuccess { get; private set; }

    public long FindTotal { get; private set; }

    /// <summary>page_cluster (/proc/sys/vm/page-cluster): swap readahead reads 2^page_cluster pages around a fault.</summary>
    public int PageCluster { get; set; }

    /// <summary>__add_to_swap_cache: the page joins the cache under `entry` (whose count already includes the cache). -EEXIST when the entry has a page.</summary>
    private int AddToSwapCacheLocked(int pfn, SwpEntry entry)
    {
        if (!SwapperSpace.PageTree.TryAdd(entry.Val, pfn))
        {
            return (int)Errno.EEXIST.Ret();
        }
        ref var page = ref _mem.PageAt(pfn);
        page.Count++; // page_cache_get: the cache's reference
        page.Set(PageFlag.PG_swapcache);
        page.Private = entry.Val;
        _mem.NrFilePages++;
        TotalSwapcachePages++;
        return 0;
    }

    /// <summary>
    /// add_to_swap_cache (for a read): take a use of `entry` and add the new page under it, locked
    /// for the read. -ENOENT when the entry was freed meanwhile, -EEXIST when it has a page.
    /// </summary>
    private int AddToSwapCache(int pfn, SwpEntry entry)
    {
        if (!SwapDuplicate(entry))
        {
            return (int)Errno.ENOENT.Ret();
        }
        ref var page = ref _mem.PageAt(pfn);
        page.Set(PageFlag.PG_locked); // SetPageLocked: a new page nobody else can see
        int err = AddToSwapCacheLocked(pfn, entry);
        if (err != 0)
        {
            page.Clear(PageFlag.PG_locked);
            SwapFree(entry);
            return err;
        }
        AddTotal++;
        return 0;
    }

    /// <summary>
    /// add_to_swap: give the locked anonymous page a swap entry and put it in the swap cache,
    /// uptodate and dirty (its swap copy does not exist yet). False when swap is full.
    /// </summary>
    public bool AddToSwap(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (!page.Test(PageFlag.PG_locked))
        {
            throw new KernelBug($"add_to_swap: pfn {pfn} is not locked");
        }
        while (true)
        {
            var entry = GetSwapPage();
            if (entry.IsNone)
            {
                return false;
            }
            if (AddToSwapCacheLocked(pfn, entry) == 0)
            {
                page.Set(PageFlag.PG_uptodate);
                page.Set(PageFlag.PG_dirty);
                AddTotal++;
                return true;
            }
            SwapFree(entry); // -EEXIST: someone raced us to this entry; take another
        }
    }

    /// <summary>__delete_from_swap_cache: the page leaves the cache (the caller frees the entry and the cache's reference).</summary>
    private void DeleteFromSwapCacheLocked(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (!page.Test(PageFlag.PG_swapcache) || page.Test(PageFlag.PG_writeback))
        {
            throw new KernelBug($"__delete_from_swap_cache: pfn {pfn} flags {page.Flags:x}");
        }
        SwapperSpace.PageTree.Remove(page.Private);
        page.Private = 0;
        page.Clear(PageFlag.PG_swapcache);
        _mem.NrFilePages--;
        TotalSwapcachePages--;
        DelTotal++;
    }

    /// <summary>delete_from_swap_cache: the locked page leaves the cache; its entry loses the cache's use and the page the cache's reference.</summary>
    public void DeleteFromSwapCache(int pfn)
    {
        var entry = new SwpEntry(_mem.PageAt(pfn).Private);
        DeleteFromSwapCacheLocked(pfn);
        SwapFree(entry);
        _mem.PutPage(pfn);
    }

    /// <summary>
    /// remove_mapping's swap cache half (shrink_page_list): a clean page nobody else holds leaves the
    /// cache and its entry loses the cache's use (the PTEs keep theirs: the data is on disk).
    /// </summary>
    internal void ReleaseCleanSwapPage(int pfn)
    {
        var entry = new SwpEntry(_mem.PageAt(pfn).Private);
        DeleteFromSwapCacheLocked(pfn);
        SwapFree(entry);
        _mem.PutPage(pfn); // __put_page: the cache's reference
    }

    /// <summary>lookup_swap_cache: the cached page of `entry` with a reference taken, or -1.</summary>
    public int LookupSwapCache(SwpEntry entry)
    {
        int pfn = SwapperSpace.FindPage(entry.Val);
        FindTotal++;
        if (pfn >= 0)
        {
            _mem.PageAt(pfn).Count++;
            FindSuccess++;
        }
        return pfn;
    }

    /// <summary>
    /// read_swap_cache_async: the page of `entry`, with a reference for the caller: the cached one,
    /// or a new page added to the cache, locked, with its read started (the read's end unlocks it).
    /// -1 when the entry is no longer in use or no page could be had.
    /// </summary>
    public int ReadSwapCacheAsync(SwpEntry entry, Gfp gfp = Gfp.GFP_HIGHUSER)
    {
        int newPfn = -1;
        while (true)
        {
            int found = LookupSwapCache(entry);
            if (found >= 0)
            {
                if (newPfn >= 0)
                {
                    _mem.FreePages(newPfn, 0);
                }
                return found;
            }
            if (newPfn < 0)
            {
                newPfn = _mem.AllocPages(gfp, 0);
                if (newPfn < 0)
                {
                    return -1;
                }
            }
            int err = AddToSwapCache(newPfn, entry);
            if (err == 0)
            {
                _mem.LruCacheAddActive(newPfn);
                _mem.Reclaim?.PageRefault(SwapperSpace.Handle, entry.Val, newPfn);
                SwapReadpage(newPfn);
                return newPfn;
            }
            if (err == (int)Errno.ENOENT.Ret())
            {
                _mem.FreePages(newPfn, 0);
                return -1;
            }
        }
    }

    /// <summary>
    /// swapin_readahead: start reading the in-use entries of the page_cluster-aligned block around
    /// `entry` (valid_swaphandles; the header page and free or bad pages end the run). The pages go
    /// to the swap cache without a mapping; a fault on one of their PTEs later finds them there.
    /// </summary>
    public void SwapinReadahead(SwpEntry entry)
    {
        if (PageCluster == 0 || Info(entry.Type) is not { } si)
        {
            return;
        }
        int n = 1 << PageCluster;
        long toff = (entry.Offset >> PageCluster) << PageCluster;
        if (toff == 0)
        {
            toff++;
            n--;
        }
        for (; n > 0 && toff < si.Max && si.SwapMap[toff] != 0 && si.SwapMap[toff] != SwapInfo.SWAP_MAP_BAD; n--, toff++)
        {
            // No direct reclaim for readahead: a page that cannot be had at once ends it.
            int pfn = ReadSwapCacheAsync(SwpEntry.Make(entry.Type, toff), Gfp.GFP_HIGHUSER | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN);
            if (pfn < 0)
            {
                break;
            }
            _mem.PutPage(pfn);
        }
        _mem.LruAddDrain();
    }

    /// <summary>free_swap_cache (free_pages_and_swap_cache): a swap cache page whose last PTE went leaves the cache if nobody needs its copy.</summary>
    internal void FreeSwapCache(int pfn)
    {
        if (_mem.PageAt(pfn).Test(PageFlag.PG_swapcache) && _mem.PageWait.TryLockPage(pfn))
        {
            RemoveExclusiveSwapPage(pfn);
            _mem.PageWait.UnlockPage(pfn);
        }
    }

    /// <summary>
    /// move_to_swap_cache (shmem_writepage): the locked tmpfs page leaves its file's cache for the
    /// swap cache under `entry` (the vector's use), which takes a use of its own; it stays uptodate
    /// and becomes dirty, so reclaim writes it out. False when the entry has a page already.
    /// </summary>
    internal bool MoveToSwapCache(int pfn, SwpEntry entry, AddressSpace mapping)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (AddToSwapCacheLocked(pfn, entry) != 0)
        {
            return false;
        }
        _mem.Writeback.CancelDirtyPage(mapping, pfn);
        mapping.PageTree.Remove(page.Index);
        _mem.NrFilePages--;
        page.Mapping = 0;
        _mem.PutPage(pfn); // the file cache's reference
        if (!SwapDuplicate(entry))
        {
            throw new KernelBug($"move_to_swap_cache: entry {entry} is not in use");
        }
        page.Set(PageFlag.PG_dirty);
        AddTotal++;
        return true;
    }

    /// <summary>move_from_swap_cache's page half: the locked swap cache page joins `mapping` at `index`, dirty (its swap copy is about to go).</summary>
    internal void MoveFromSwapCache(int pfn, AddressSpace mapping, long index)
    {
        ref var page = ref _mem.PageAt(pfn);
        var entry = new SwpEntry(page.Private);
        DeleteFromSwapCacheLocked(pfn);
        SwapFree(entry); // the cache's use; the cache's reference becomes the file cache's
        mapping.PageTree.Add(index, pfn);
        page.Mapping = mapping.Handle;
        page.Index = index;
        _mem.NrFilePages++;
        mapping.AOps.SetPageDirty(_mem, mapping, pfn);
    }
}
