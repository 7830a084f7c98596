// Linux 2.6.20 mm/shmem.c's swap half: shmem_writepage, called by reclaim for an unmapped tmpfs
// page, takes a swap entry, records it in the inode's swap vector and moves the page from the
// file's page cache to the swap cache (move_to_swap_cache), dirty, so that reclaim writes it out
// from there like an anonymous page; the entry's count is 2 then (the vector and the cache).
// shmem_getpage finds an absent page's entry in the vector and brings it back: from the swap
// cache, or read in first (the caller sleeps on the locked page and looks again), then moved to
// the file's cache (move_from_swap_cache) and the vector's entry freed. Truncation frees the
// entries past the new size; swapoff asks shmem_unuse to move a page it read back into its file.
using Kernel.Core;
using Kernel.Mm.Swap;

namespace Kernel.Mm.Shmem;

public sealed partial class Tmpfs
{
    private readonly Dictionary<uint, (ShmemInode Inode, long Index)> _swapOwners = new();

    /// <summary>Pages of tmpfs files in swap (the swap vectors' entries).</summary>
    public long SwappedPages => _swapOwners.Count;

    /// <summary>Every swap entry a tmpfs inode holds, with its owner (for the swap invariants).</summary>
    internal IEnumerable<(uint Entry, ShmemInode Inode, long Index)> SwapVectorEntries =>
        _swapOwners.Select(kv => (kv.Key, kv.Value.Inode, kv.Value.Index));

    /// <summary>shmem_writepage: move the locked, unmapped page to the swap cache. False (redirty) when swap is full or the page is past i_size.</summary>
    internal bool Writepage(ShmemInode inode, int pfn)
    {
        ref var page = ref _mm.PageAt(pfn);
        if (page.MapCount >= 0)
        {
            throw new KernelBug($"shmem_writepage: pfn {pfn} is still mapped");
        }
        long index = page.Index;
        if (index >= inode.SizeInPages)
        {
            return false; // being truncated
        }
        var swap = _mm.Swap.GetSwapPage();
        if (swap.IsNone)
        {
            return false;
        }
        if (!_mm.Swap.MoveToSwapCache(pfn, swap, inode.Mapping))
        {
            _mm.Swap.SwapFree(swap);
            return false;
        }
        inode.SwapEntries[index] = swap.Val;
        _swapOwners[swap.Val] = (inode, index);
        return true;
    }

    /// <summary>
    /// shmem_getpage's lookup without allocation: the cached page; else, if the page is in swap,
    /// the page brought back into the file's cache (-EIOCBRETRY while its read or write is waited
    /// for, -EIO if the read failed, -ENOMEM without memory); else -1.
    /// </summary>
    internal int FindOrSwapIn(ShmemInode inode, long index)
    {
        var mapping = inode.Mapping;
        int pfn = mapping.FindPage(index);
        if (pfn >= 0 || !inode.SwapEntries.TryGetValue(index, out uint val))
        {
            return pfn;
        }
        var swap = _mm.Swap;
        var entry = new SwpEntry(val);
        int sp = swap.LookupSwapCache(entry);
        if (sp < 0)
        {
            sp = swap.ReadSwapCacheAsync(entry);
            if (sp < 0)
            {
                return (int)Errno.ENOMEM.Ret(); // an allocation that sleeps in reclaim records its wait
            }
            _mm.PgMajFault++;
        }
        if (!_mm.PageWait.TryLockPage(sp))
        {
            _mm.PutPage(sp);
            return _mm.DeferWait(new MmWait(MmWaitKind.PageLocked, Pfn: sp)) ? (int)Errno.EIOCBRETRY.Ret() : (int)Errno.EIO.Ret();
        }
        ref var page = ref _mm.PageAt(sp);
        if (!page.Test(PageFlag.PG_uptodate))
        {
            _mm.PageWait.UnlockPage(sp);
            _mm.PutPage(sp);
            return (int)Errno.EIO.Ret();
        }
        if (page.Test(PageFlag.PG_writeback))
        {
            _mm.PageWait.UnlockPage(sp);
            _mm.PutPage(sp);
            return _mm.DeferWait(new MmWait(MmWaitKind.PageWriteback, Pfn: sp)) ? (int)Errno.EIOCBRETRY.Ret() : (int)Errno.EIO.Ret();
        }
        MoveFromSwapCache(inode, index, sp, entry);
        _mm.PageWait.UnlockPage(sp);
        _mm.PutPage(sp); // the lookup's reference; the file's cache holds one now
        return sp;
    }

    /// <summary>move_from_swap_cache + the vector's swap_free: the locked swap cache page becomes the file's page at `index`, dirty.</summary>
    private void MoveFromSwapCache(ShmemInode inode, long index, int pfn, SwpEntry entry)
    {
        _mm.Swap.MoveFromSwapCache(pfn, inode.Mapping, index);
        _mm.MarkPageAccessed(pfn);
        inode.SwapEntries.Remove(index);
        _swapOwners.Remove(entry.Val);
        _mm.Swap.SwapFree(entry); // the vector's use
    }

    /// <summary>shmem_unuse (swapoff): if a tmpfs page is named by `entry`, move the locked page read back for it into its file. True if one was.</summary>
    internal bool Unuse(SwpEntry entry, int pfn)
    {
        if (!_swapOwners.TryGetValue(entry.Val, out var owner))
        {
            return false;
        }
        MoveFromSwapCache(owner.Inode, owner.Index, pfn, entry);
        return true;
    }

    /// <summary>shmem_truncate's swap half: free the entries at or past page `first`.</summary>
    private void TruncateSwap(ShmemInode inode, long first)
    {
        if (inode.SwapEntries.Count == 0)
        {
            return;
        }
        foreach (var (index, val) in inode.SwapEntries.Where(kv => kv.Key >= first).ToList())
        {
            inode.SwapEntries.Remove(index);
            _swapOwners.Remove(val);
            _mm.Swap.FreeSwapAndCache(new SwpEntry(val));
        }
    }
}
