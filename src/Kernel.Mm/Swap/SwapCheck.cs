// Swap invariants: each page of an area has exactly as many uses in its swap map as there are
// PTEs and tmpfs swap vectors naming it plus one if it has a swap cache page; the swap cache pages carry PG_swapcache,
// their entry in private and the cache's reference; the free-page totals match the maps.
namespace Kernel.Mm.Swap;

public sealed partial class SwapAreas
{
    internal IEnumerable<string> CheckInvariants()
    {
        var uses = new Dictionary<uint, int>();
        foreach (var mm in _mem.Mms)
        {
            foreach (var (addr, entry) in mm.SwapPtes())
            {
                if (Info(entry.Type) is not { } si || entry.Offset == 0 || entry.Offset >= si.Max)
                {
                    yield return $"mm@{mm.Pgd}: swap pte at {addr:x} names {entry}, which is in no swap area";
                    continue;
                }
                uses[entry.Val] = uses.GetValueOrDefault(entry.Val) + 1;
            }
        }
        foreach (var (entry, inode, index) in _mem.Shmem.SwapVectorEntries)
        {
            if (inode.SwapEntries.GetValueOrDefault(index) != entry || inode.Mapping.FindPage(index) >= 0)
            {
                yield return $"{inode.Name}: page {index} is in swap ({entry:x8}) but the vector or the page cache disagrees";
            }
            uses[entry] = uses.GetValueOrDefault(entry) + 1;
        }
        foreach (var (key, pfn) in SwapperSpace.PageTree)
        {
            ref var page = ref _mem.PageAt(pfn);
            if (!page.Test(PageFlag.PG_swapcache) || page.Private != (uint)key || page.Count < 1)
            {
                yield return $"swap cache: pfn {pfn} under {key:x8} has flags {page.Flags:x} private {page.Private:x8} count {page.Count}";
            }
            uses[(uint)key] = uses.GetValueOrDefault((uint)key) + 1;
        }
        if (SwapperSpace.PageTree.Count != TotalSwapcachePages)
        {
            yield return $"swap cache: total_swapcache_pages {TotalSwapcachePages} but {SwapperSpace.PageTree.Count} pages cached";
        }
        long free = 0, total = 0;
        foreach (var si in _info)
        {
            if (si is null)
            {
                continue;
            }
            long inuse = 0;
            for (long off = 0; off < si.Max; off++)
            {
                int count = si.SwapMap[off];
                if (count == SwapInfo.SWAP_MAP_BAD)
                {
                    continue;
                }
                int want = uses.GetValueOrDefault(SwpEntry.Make(si.Type, off).Val);
                if (count != want && !(count == SwapInfo.SWAP_MAP_MAX && want >= count))
                {
                    yield return $"{si.Name}: swap_map[{off}] is {count} but {want} ptes and cache pages name it";
                }
                if (count != 0)
                {
                    inuse++;
                }
            }
            if (inuse != si.InusePages)
            {
                yield return $"{si.Name}: inuse_pages {si.InusePages} but {inuse} pages of its map are used";
            }
            if ((si.Flags & SwapFlags.SWP_WRITEOK) != 0)
            {
                free += si.Pages - si.InusePages;
                total += si.Pages;
            }
        }
        if (free != NrSwapPages || total != TotalSwapPages)
        {
            yield return $"swap: nr_swap_pages {NrSwapPages} total_swap_pages {TotalSwapPages} but the areas have {free} free of {total}";
        }
    }
}
