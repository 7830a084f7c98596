// The memory invariants: every frame is in exactly one place (a buddy block, a per-CPU list, or
// in use), free frames have count 0 and no mappings, buddy blocks are aligned, of the order they
// claim, inside their zone and counted in free_pages / nr_free.
namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    private enum Where : byte
    {
        InUse,
        Buddy,
        Pcp,
    }

    public IEnumerable<string> CheckInvariants()
    {
        var where = new Where[MemMap.Length];
        var problems = new List<string>();
        // vm_committed_space is exactly what the accounted areas and shmem files hold.
        long accounted = Mms.Sum(mm => mm.Vmas.InOrder().Where(v => v.Has(Memory.VmFlags.VM_ACCOUNT)).Sum(v => v.Pages))
            + Shmem.Inodes.Sum(i => i.AccountedPages);
        if (accounted != Overcommit.CommittedPages)
        {
            problems.Add($"Committed_AS is {Overcommit.CommittedPages} pages but accounted areas and shmem files hold {accounted}");
        }
        foreach (var z in Zones)
        {
            long freeCounted = 0;
            for (int order = 0; order < Zone.MAX_ORDER; order++)
            {
                long n = 0;
                for (int pfn = z.FreeArea[order].Head; pfn >= 0; pfn = MemMap[pfn].LruNext)
                {
                    n++;
                    ref var p = ref MemMap[pfn];
                    if ((pfn & ((1 << order) - 1)) != 0)
                    {
                        problems.Add($"{z.Name}: order-{order} block at pfn {pfn} is misaligned");
                    }
                    if (pfn < z.ZoneStartPfn || pfn + (1L << order) > z.ZoneStartPfn + z.SpannedPages)
                    {
                        problems.Add($"{z.Name}: order-{order} block at pfn {pfn} leaves the zone");
                        continue;
                    }
                    if (!p.Test(PageFlag.PG_buddy) || p.Private != order)
                    {
                        problems.Add($"{z.Name}: pfn {pfn} on the order-{order} list is not marked a buddy of that order");
                    }
                    for (int i = pfn; i < pfn + (1 << order); i++)
                    {
                        if (where[i] != Where.InUse)
                        {
                            problems.Add($"pfn {i} is on two free lists");
                        }
                        where[i] = Where.Buddy;
                        if (MemMap[i].Count != 0 || MemMap[i].MapCount != -1)
                        {
                            problems.Add($"free pfn {i} has count {MemMap[i].Count} mapcount {MemMap[i].MapCount}");
                        }
                    }
                    freeCounted += 1L << order;
                }
                if (n != z.FreeArea[order].NrFree)
                {
                    problems.Add($"{z.Name}: order {order} nr_free {z.FreeArea[order].NrFree} but {n} blocks listed");
                }
            }
            if (freeCounted != z.FreePages)
            {
                problems.Add($"{z.Name}: free_pages {z.FreePages} but {freeCounted} pages on the buddy lists");
            }
            for (int cpu = 0; cpu < z.Pageset.Length; cpu++)
            {
                foreach (var pcp in new[] { z.Pageset[cpu].Hot, z.Pageset[cpu].Cold })
                {
                    int n = 0;
                    for (int pfn = pcp.Head; pfn >= 0; pfn = MemMap[pfn].LruNext)
                    {
                        n++;
                        if (where[pfn] != Where.InUse)
                        {
                            problems.Add($"pfn {pfn} is on a per-CPU list and elsewhere");
                        }
                        where[pfn] = Where.Pcp;
                        if (MemMap[pfn].Count != 0 || MemMap[pfn].Test(PageFlag.PG_buddy) || MemMap[pfn].ZoneIndex != z.Index)
                        {
                            problems.Add($"pfn {pfn} on cpu{cpu}'s list is not a free page of {z.Name}");
                        }
                    }
                    if (n != pcp.Count)
                    {
                        problems.Add($"{z.Name} cpu{cpu}: pcp count {pcp.Count} but {n} pages listed");
                    }
                }
            }
        }
        for (int pfn = 0; pfn < MemMap.Length; pfn++)
        {
            ref var p = ref MemMap[pfn];
            if (where[pfn] != Where.Buddy && p.Test(PageFlag.PG_buddy))
            {
                problems.Add($"pfn {pfn} is marked PG_buddy but is on no free list");
            }
        }
        CheckLru(problems);
        // The page cache: every cached page names its file and offset and holds the cache's reference.
        foreach (var inode in Shmem.Inodes)
        {
            var space = inode.Mapping;
            foreach (var (index, pfn) in space.PageTree)
            {
                ref var p = ref MemMap[pfn];
                if (p.Mapping != space.Handle || p.Index != index || !p.Test(PageFlag.PG_uptodate) || p.Count < 1 + p.PageMapcount)
                {
                    problems.Add($"page cache of {inode.Name}: pfn {pfn} at {index} has mapping {p.Mapping} index {p.Index} count {p.Count} mapcount {p.PageMapcount}");
                }
            }
        }
        // Mapping counts: every page's mapcount equals the PTEs (in every mm) that map it.
        var ptes = new Dictionary<int, List<(Memory.MmStruct Mm, long Addr)>>();
        foreach (var mm in Mms)
        {
            problems.AddRange(mm.CheckInvariants($"mm@{mm.Pgd}", ptes));
        }
        problems.AddRange(Rmap.CheckInvariants(ptes));
        problems.AddRange(Swap.CheckInvariants());
        problems.AddRange(Writeback.CheckInvariants(_spaces.Where(s => s is not null).Select(s => s!)));
        for (int pfn = 0; pfn < MemMap.Length; pfn++)
        {
            int mapped = ptes.TryGetValue(pfn, out var list) ? list.Count : 0;
            if (MemMap[pfn].PageMapcount != mapped)
            {
                problems.Add($"pfn {pfn}: mapcount {MemMap[pfn].PageMapcount} but {mapped} ptes map it");
            }
            if (mapped > 0 && MemMap[pfn].Count < mapped && pfn != ZeroPagePfn)
            {
                problems.Add($"pfn {pfn}: {mapped} ptes but only {MemMap[pfn].Count} references");
            }
        }
        return problems;
    }
}
