// Address-space invariants: VMAs sorted and non-overlapping; every mapped PTE inside a VMA;
// RSS counters equal to the PTEs; and, across every mm, each page's mapcount equal to the
// number of PTEs mapping it; every swap PTE inside a VMA (the swap map's counts are checked by SwapAreas).
using System.Runtime.CompilerServices;
namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    public IEnumerable<string> CheckInvariants(string who, Dictionary<int, List<(MmStruct Mm, long Addr)>> ptesPerPfn)
    {
        foreach (var s in Vmas.CheckInvariants(who))
        {
            yield return s;
        }
        long anon = 0, file = 0, total = 0;
        foreach (var v in Vmas.InOrder())
        {
            total += v.Pages;
            if (v.VmOps is not null && v.File is null)
            {
                yield return $"{who}: vma {v.VmStart:x}-{v.VmEnd:x} has vm_ops {v.VmOps.Name} but no file";
            }
        }
        if (total != TotalVm)
        {
            yield return $"{who}: total_vm {TotalVm} but the areas hold {total} pages";
        }
        foreach (var (addr, pte) in MappedPtes())
        {
            var v = Vmas.FindVma(addr);
            if (v is null || v.VmStart > addr)
            {
                yield return $"{who}: pte at {addr:x} lies outside every vma";
            }
            int pfn = Paging.PfnOf(pte);
            if (!ptesPerPfn.TryGetValue(pfn, out var list))
            {
                ptesPerPfn[pfn] = list = new List<(MmStruct, long)>();
            }
            list.Add((this, addr));
            if (_mem.PageAt(pfn).IsAnon)
            {
                anon++;
            }
            else
            {
                file++;
            }
        }
        foreach (var (addr, _) in SwapPtes())
        {
            var v = Vmas.FindVma(addr);
            if (v is null || v.VmStart > addr)
            {
                yield return $"{who}: swap pte at {addr:x} lies outside every vma";
            }
        }
        if (anon != AnonRss || file != FileRss)
        {
            yield return $"{who}: rss counters anon {AnonRss} file {FileRss} but ptes map {anon} anon and {file} file pages";
        }
    }

    /// <summary>Does the PTE at addr map pfn (page_check_address as a question)?</summary>
    public bool PteMaps(long addr, int pfn) => !Unsafe.IsNullRef(ref PageCheckAddress(addr, pfn));

    /// <summary>Every PTE that maps a page, including PROT_NONE ones.</summary>
    public IEnumerable<(long Addr, ulong Pte)> MappedPtes()
    {
        var result = new List<(long, ulong)>();
        ScanMapped(Pgd, 0, 0L, result, swap: false);
        return result;
    }

    /// <summary>Every PTE that holds a swap entry (a page swapped out of this address space).</summary>
    public IEnumerable<(long Addr, Swap.SwpEntry Entry)> SwapPtes()
    {
        var result = new List<(long, ulong)>();
        ScanMapped(Pgd, 0, 0L, result, swap: true);
        return result.Select(e => (e.Item1, Swap.SwpEntry.FromPte(e.Item2)));
    }

    private void ScanMapped(int table, int level, long baseAddr, List<(long, ulong)> result, bool swap)
    {
        int n = level == 0 ? Paging.TopEntries : 512;
        var entries = Entries(table).ToArray();
        bool leaf = level == Paging.Levels - 1;
        for (int i = 0; i < n; i++)
        {
            ulong e = entries[i];
            long addr = baseAddr + i * Paging.Span(level);
            if (leaf ? (swap ? !Swap.SwpEntry.IsSwapPte(e) : !PteMapped(e)) : (e & Paging._PAGE_PRESENT) == 0)
            {
                continue;
            }
            if (leaf)
            {
                result.Add((addr, e));
            }
            else
            {
                ScanMapped(Paging.PfnOf(e), level + 1, addr, result, swap);
            }
        }
    }
}
