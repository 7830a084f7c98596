// Linux 2.6.20 mm/swapfile.c, the swap map: get_swap_page picks the highest-priority area that
// takes pages (round robin among areas of equal priority) and scan_swap_map finds a free page in
// it, SWAPFILE_CLUSTER (256) pages in sequence before it looks for an empty cluster again, so that
// pages swapped together lie together; swap_duplicate and swap_free count the PTEs and the swap
// cache naming a page; page_swapcount, can_share_swap_page and remove_exclusive_swap_page decide
// whether a page's swap copy is still needed; free_swap_and_cache drops an entry a PTE held.
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Swap;

public sealed partial class SwapAreas
{
    /// <summary>SWAPFILE_CLUSTER: pages allocated in sequence before looking for a new empty cluster.</summary>
    public const int SWAPFILE_CLUSTER = 256;

    private int _swapListNext = -1;
    private SwapInfo[] _swapList = [];

    /// <summary>swap_list: rebuilt whenever an area starts or stops taking pages.</summary>
    private void RebuildSwapList() =>
        _swapList = _info.Where(s => s is not null && (s.Flags & SwapFlags.SWP_WRITEOK) != 0).Select(s => s!)
            .OrderByDescending(s => s.Prio).ThenBy(s => s.Type).ToArray();

    /// <summary>vm_swap_full: more than half the swap space is in use.</summary>
    public bool VmSwapFull => NrSwapPages * 2 < TotalSwapPages;

    /// <summary>get_swap_page: a free page of swap with its count set to 1, or SwpEntry.None when all are in use.</summary>
    public SwpEntry GetSwapPage()
    {
        if (NrSwapPages <= 0)
        {
            return SwpEntry.None;
        }
        var order = _swapList; // the areas taking pages, highest priority first
        if (order.Length == 0)
        {
            return SwpEntry.None;
        }
        // Start at swap_list.next within the highest priority (round robin), then fall to lower ones.
        int start = 0;
        while (start < order.Length && order[start].Type != _swapListNext)
        {
            start++;
        }
        if (start == order.Length)
        {
            start = 0;
        }
        if (order[start].Prio != order[0].Prio)
        {
            start = 0;
        }
        for (int n = 0; n < order.Length; n++)
        {
            int i = n < order.Length - start ? start + n : n - (order.Length - start);
            var si = order[i];
            if (si.HighestBit == 0)
            {
                continue;
            }
            long offset = ScanSwapMap(si);
            if (offset != 0)
            {
                // The next allocation tries the next area of the same priority, wrapping to the first of them
                // (the array is sorted by priority, so they sit together). No lambdas: this runs for every page swapped out.
                int nextIdx = i + 1;
                if (nextIdx == order.Length || order[nextIdx].Prio != si.Prio)
                {
                    nextIdx = i;
                    while (nextIdx > 0 && order[nextIdx - 1].Prio == si.Prio)
                    {
                        nextIdx--;
                    }
                }
                _swapListNext = order[nextIdx].Type;
                NrSwapPages--;
                return SwpEntry.Make(si.Type, offset);
            }
        }
        return SwpEntry.None;
    }

    /// <summary>scan_swap_map: an offset whose count was 0, now 1, or 0 when the area is full.</summary>
    private static long ScanSwapMap(SwapInfo si)
    {
        var map = si.SwapMap;
        long offset;
        if (si.ClusterNr == 0)
        {
            si.ClusterNr = SWAPFILE_CLUSTER - 1;
            offset = si.LowestBit;
            if (si.Pages - si.InusePages >= SWAPFILE_CLUSTER)
            {
                // Locate the first empty (unaligned) cluster.
                long lastInCluster = offset + SWAPFILE_CLUSTER - 1;
                for (; lastInCluster <= si.HighestBit; offset++)
                {
                    if (map[offset] != 0)
                    {
                        lastInCluster = offset + SWAPFILE_CLUSTER;
                    }
                    else if (offset == lastInCluster)
                    {
                        si.ClusterNext = offset - SWAPFILE_CLUSTER + 1;
                        offset = si.ClusterNext;
                        return TakeFrom(si, offset);
                    }
                }
                offset = si.LowestBit;
            }
            return TakeFrom(si, offset);
        }
        si.ClusterNr--;
        offset = si.ClusterNext;
        if (offset > si.HighestBit)
        {
            offset = si.LowestBit;
        }
        return TakeFrom(si, offset);
    }

    /// <summary>scan_swap_map's checks: take `offset` if free, else the next free one up to highest_bit, else from lowest_bit.</summary>
    private static long TakeFrom(SwapInfo si, long offset)
    {
        var map = si.SwapMap;
        for (int lap = 0; lap < 2; lap++)
        {
            if ((si.Flags & SwapFlags.SWP_WRITEOK) == 0 || si.HighestBit == 0)
            {
                return 0;
            }
            for (; offset <= si.HighestBit; offset++)
            {
                if (map[offset] != 0)
                {
                    continue;
                }
                if (offset == si.LowestBit)
                {
                    si.LowestBit++;
                }
                if (offset == si.HighestBit)
                {
                    si.HighestBit--;
                }
                si.InusePages++;
                if (si.InusePages == si.Pages)
                {
                    si.LowestBit = si.Max;
                    si.HighestBit = 0;
                }
                map[offset] = 1;
                si.ClusterNext = offset + 1;
                return offset;
            }
            offset = si.LowestBit;
        }
        return 0;
    }

    /// <summary>swap_info_get: the area of a used entry, or null (with swap_free's complaint) for a bad one.</summary>
    private SwapInfo? SwapInfoGet(SwpEntry entry)
    {
        if (entry.IsNone)
        {
            return null;
        }
        var p = Info(entry.Type);
        string? bad = p is null ? "Bad swap file entry " : entry.Offset >= p.Max ? "Bad swap offset entry " : p.SwapMap[entry.Offset] == 0 ? "Unused swap offset entry " : null;
        if (bad is not null)
        {
            Log.Add($"swap_free: {bad}{entry}");
            return null;
        }
        return p;
    }

    /// <summary>swap_entry_free: one user fewer; the count left.</summary>
    private int SwapEntryFree(SwapInfo p, long offset)
    {
        int count = p.SwapMap[offset];
        if (count < SwapInfo.SWAP_MAP_MAX)
        {
            count--;
            p.SwapMap[offset] = (ushort)count;
            if (count == 0)
            {
                p.LowestBit = Math.Min(p.LowestBit, offset);
                p.HighestBit = Math.Max(p.HighestBit, offset);
                if (_swapListNext < 0 || Info(_swapListNext) is not { } cur || p.Prio > cur.Prio)
                {
                    _swapListNext = p.Type;
                }
                p.InusePages--;
                if ((p.Flags & SwapFlags.SWP_WRITEOK) != 0)
                {
                    NrSwapPages++;
                }
            }
        }
        return count;
    }

    /// <summary>swap_free: a PTE or the swap cache stops naming the entry.</summary>
    public void SwapFree(SwpEntry entry)
    {
        if (SwapInfoGet(entry) is { } p)
        {
            SwapEntryFree(p, entry.Offset);
        }
    }

    /// <summary>swap_duplicate: one more user of a used entry; false when the entry is not in use.</summary>
    public bool SwapDuplicate(SwpEntry entry)
    {
        var p = Info(entry.Type);
        if (p is null)
        {
            Log.Add($"swap_dup: Bad swap file entry {entry}");
            return false;
        }
        long offset = entry.Offset;
        if (offset >= p.Max || p.SwapMap[offset] == 0)
        {
            return false;
        }
        if (p.SwapMap[offset] < SwapInfo.SWAP_MAP_MAX - 1)
        {
            p.SwapMap[offset]++;
        }
        else
        {
            Log.Add("swap_dup: swap entry overflow");
            p.SwapMap[offset] = SwapInfo.SWAP_MAP_MAX;
        }
        return true;
    }

    /// <summary>page_swapcount: how many PTEs name the swap cache page's entry (its count less the cache's own).</summary>
    private int PageSwapcount(int pfn)
    {
        var entry = new SwpEntry(_mem.PageAt(pfn).Private);
        return Info(entry.Type) is { } p && entry.Offset < p.Max && p.SwapMap[entry.Offset] != 0 ? p.SwapMap[entry.Offset] - 1 : 0;
    }

    /// <summary>can_share_swap_page: the locked page has one user in all (a mapping or a swap PTE), so a write may reuse it.</summary>
    public bool CanShareSwapPage(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        int count = page.PageMapcount;
        if (count <= 1 && page.Test(PageFlag.PG_swapcache))
        {
            count += PageSwapcount(pfn);
        }
        return count == 1;
    }

    /// <summary>
    /// remove_exclusive_swap_page: a locked swap cache page that nobody else holds and no PTE names
    /// leaves the swap cache (dirty again, as its swap copy is gone). True if it left.
    /// </summary>
    public bool RemoveExclusiveSwapPage(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (!page.Test(PageFlag.PG_swapcache) || page.Test(PageFlag.PG_writeback) || page.Count != 2)
        {
            return false;
        }
        var entry = new SwpEntry(page.Private);
        if (SwapInfoGet(entry) is not { } p || p.SwapMap[entry.Offset] != 1)
        {
            return false;
        }
        DeleteFromSwapCacheLocked(pfn);
        page.Set(PageFlag.PG_dirty);
        SwapFree(entry);
        _mem.PutPage(pfn); // the cache's reference
        return true;
    }

    /// <summary>
    /// free_swap_and_cache: a PTE holding `entry` goes (zap, exit); when only the swap cache is left
    /// naming it and nobody holds the page (or swap is more than half full), the page leaves the cache.
    /// </summary>
    public void FreeSwapAndCache(SwpEntry entry)
    {
        if (SwapInfoGet(entry) is not { } p)
        {
            return;
        }
        if (SwapEntryFree(p, entry.Offset) != 1)
        {
            return;
        }
        int pfn = SwapperSpace.FindPage(entry.Val);
        if (pfn < 0 || !_mem.PageWait.TryLockPage(pfn))
        {
            return;
        }
        ref var page = ref _mem.PageAt(pfn);
        page.Count++; // find_get_page's reference
        bool oneUser = page.Count == 2; // the cache and us
        if (page.Test(PageFlag.PG_swapcache) && !page.Test(PageFlag.PG_writeback) && (oneUser || VmSwapFull))
        {
            DeleteFromSwapCache(pfn);
            page.Set(PageFlag.PG_dirty);
        }
        _mem.PageWait.UnlockPage(pfn);
        _mem.PutPage(pfn);
    }

    /// <summary>The swap cache's address_space (swapper_space), for page_mapping().</summary>
    public AddressSpace SwapperSpace { get; }
}
