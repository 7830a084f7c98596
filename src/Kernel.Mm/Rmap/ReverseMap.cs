// Reverse mapping, three ways (Linux 2.6.20 mm/rmap.c objrmap; the 2.5/2.6.0 pte_chain rmap;
// none, as 2.4). Whatever the mode, FindPtes answers "which PTEs map this frame" and says what
// it cost: objrmap walks the page's anon_vma or its file's i_mmap and computes one address per
// VMA; pte_chain reads the page's own chain; none scans every page table in the machine.
// pte_chains live in L1_CACHE_BYTES slab objects holding NRPTE = (L1_CACHE_BYTES -
// sizeof(long)) / sizeof(pte_addr_t) addresses; pte_addr_t is a pointer (4 bytes on i386), as
// without CONFIG_HIGHPTE (page tables here are lowmem frames). A page mapped once keeps its single PTE inline
// (PG_direct), so the chains cost lowmem in proportion to the number of mappings.
//
// Lock order (mm/rmap.c): i_mutex > mmap_sem > PG_locked > i_mmap_lock > anon_vma->lock >
// page_table_lock > lru_lock / swap_lock > mmlist_lock > tree_lock. The walk holds the page's
// anon_vma->lock or its file's i_mmap_lock for as long as it takes (its cost is the hold time,
// so two CPUs walking the same object serialise); linking and unlinking a VMA takes them too.
// docs/locking.md has the whole table and says which locks are modelled how.
using Kernel.Core;
using Kernel.Mm.Memory;
using Kernel.Mm.Slab;

namespace Kernel.Mm.Rmap;

/// <summary>The PTEs found for a frame and the work it took.</summary>
public readonly record struct RmapResult(IReadOnlyList<(MmStruct Mm, long Addr)> Ptes, long PtesVisited, long CostNs);

public sealed partial class ReverseMap
{
    /// <summary>sizeof(struct anon_vma) on i386: a spinlock and a list head.</summary>
    public const int SizeofAnonVma = 12;

    private readonly MemorySubsystem _mem;
    private readonly long _rmapUpdateNs;
    private readonly List<AnonVma?> _anonVmas = new() { null };
    private readonly Dictionary<int, ChainState> _chains = new();

    private sealed class ChainState
    {
        public readonly List<(MmStruct Mm, long Addr)> Entries = new();
        public readonly List<SlabObject> Blocks = new();
    }

    internal ReverseMap(MemorySubsystem mem, RmapMode mode)
    {
        _mem = mem;
        Mode = mode;
        _rmapUpdateNs = mem.Options.Costs.RmapUpdateNs;
        var o = mem.Options;
        SizeofPteChain = o.L1CacheBytes;
        // Page tables are lowmem (no CONFIG_HIGHPTE), so pte_addr_t is a pointer: a word.
        int word = mem.Arch == Architecture.I386Pae ? 4 : 8;
        Nrpte = (SizeofPteChain - word) / word;
        AnonVmaCachep = mem.KmemCacheCreate("anon_vma", SizeofAnonVma, SlabFlags.SLAB_PANIC);
        PteChainCachep = mem.KmemCacheCreate("pte_chain", SizeofPteChain, SlabFlags.SLAB_HWCACHE_ALIGN | SlabFlags.SLAB_PANIC);
    }

    public RmapMode Mode { get; }

    /// <summary>sizeof(struct pte_chain): one L1 cache line (MemoryOptions.L1CacheBytes).</summary>
    public int SizeofPteChain { get; }

    /// <summary>NRPTE: PTE addresses per chain block after its next-and-index word.</summary>
    public int Nrpte { get; }

    public KmemCache AnonVmaCachep { get; }

    public KmemCache PteChainCachep { get; }

    /// <summary>Pages whose mappings are recorded in chains (pte_chain mode).</summary>
    public int ChainedPages => _chains.Count;

    // ------------------------------------------------------------------ anon_vma

    /// <summary>anon_vma_prepare: give a VMA an anon_vma before its first anonymous page (objrmap only).</summary>
    internal bool AnonVmaPrepare(Vma vma)
    {
        if (Mode != RmapMode.ObjRmap || vma.AnonVma is not null)
        {
            return true;
        }
        if (FindMergeableAnonVma(vma) is { } near)
        {
            Link(vma, near);
            return true;
        }
        var obj = AnonVmaCachep.Alloc(Gfp.GFP_KERNEL);
        if (obj.IsNone)
        {
            return false;
        }
        var av = new AnonVma((_anonVmas.Count << 1) | Page.PAGE_MAPPING_ANON, obj);
        _anonVmas.Add(av);
        Link(vma, av);
        return true;
    }

    /// <summary>
    /// find_mergeable_anon_vma: reuse a neighbour's anon_vma when an mprotect could later make the
    /// two areas one (adjacent, same file, flags equal but for R/W/X, contiguous pgoffs).
    /// </summary>
    private static AnonVma? FindMergeableAnonVma(Vma vma)
    {
        const VmFlags prot = VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_EXEC;
        static bool Compatible(Vma a, Vma b) => a.File == b.File && ((a.VmFlagsValue ^ b.VmFlagsValue) & ~prot) == 0;
        var next = vma.Mm.Vmas.FindVma(vma.VmEnd);
        if (next is { AnonVma: { } na } && next.VmStart == vma.VmEnd && Compatible(vma, next) && vma.VmPgoff + vma.Pages == next.VmPgoff)
        {
            return na;
        }
        var prev = vma.Mm.Vmas.FindPrev(vma.VmStart);
        if (prev is { AnonVma: { } pa } && prev.VmEnd == vma.VmStart && Compatible(prev, vma) && prev.VmPgoff + prev.Pages == vma.VmPgoff)
        {
            return pa;
        }
        return null;
    }

    /// <summary>anon_vma_link: a copy or a split half joins the same anon_vma.</summary>
    internal static void Link(Vma vma, AnonVma? av)
    {
        vma.AnonVma = av;
        if (av is not null)
        {
            var m = vma.Mm.Memory.Machine;
            m.ChargeLock(av.Lock, m.ThisCpu, 0);
            av.Head.Add(vma);
        }
    }

    /// <summary>anon_vma_unlink: the last VMA out frees the anon_vma.</summary>
    internal void Unlink(Vma vma)
    {
        var av = vma.AnonVma;
        if (av is null)
        {
            return;
        }
        vma.AnonVma = null;
        _mem.Machine.ChargeLock(av.Lock, _mem.Machine.ThisCpu, 0);
        av.Head.Remove(vma);
        if (av.Head.Count == 0)
        {
            AnonVmaCachep.Free(av.SlabObj);
            _anonVmas[av.Handle >> 1] = null;
        }
    }

    /// <summary>The page->mapping value for a new anonymous page of this VMA.</summary>
    internal int AnonMappingFor(Vma vma) => vma.AnonVma?.Handle ?? Page.PAGE_MAPPING_ANON;

    public AnonVma? AnonVmaOf(int mapping) =>
        (mapping & Page.PAGE_MAPPING_ANON) == 0 || (mapping >> 1) == 0 || (mapping >> 1) >= _anonVmas.Count ? null : _anonVmas[mapping >> 1];

    // ------------------------------------------------------------------ pte_chain

    /// <summary>page_add_rmap (pte_chain mode): record that (mm, addr) maps pfn. False when no chain block can be had.</summary>
    internal bool AddPte(int pfn, MmStruct mm, long addr)
    {
        if (_rmapUpdateNs != 0)
        {
            _mem.Machine.Charge(_rmapUpdateNs);
        }
        if (Mode != RmapMode.PteChain || pfn == _mem.ZeroPagePfn)
        {
            return true;
        }
        addr &= ~(MemoryLayout.PAGE_SIZE - 1L); // a pte_chain holds PTE addresses: one per page, whatever byte faulted
        if (!_chains.TryGetValue(pfn, out var c))
        {
            c = new ChainState();
            _chains.Add(pfn, c);
        }
        c.Entries.Add((mm, addr));
        while (c.Blocks.Count < BlocksFor(c.Entries.Count))
        {
            var obj = PteChainCachep.Alloc(Gfp.GFP_KERNEL);
            if (obj.IsNone)
            {
                c.Entries.RemoveAt(c.Entries.Count - 1);
                return false;
            }
            c.Blocks.Add(obj);
        }
        return true;
    }

    /// <summary>page_remove_rmap (pte_chain mode).</summary>
    internal void RemovePte(int pfn, MmStruct mm, long addr)
    {
        if (_rmapUpdateNs != 0)
        {
            _mem.Machine.Charge(_rmapUpdateNs);
        }
        if (Mode != RmapMode.PteChain || pfn == _mem.ZeroPagePfn || !_chains.TryGetValue(pfn, out var c))
        {
            return;
        }
        addr &= ~(MemoryLayout.PAGE_SIZE - 1L);
        int i = c.Entries.IndexOf((mm, addr));
        if (i < 0)
        {
            throw new KernelBug($"page_remove_rmap: pfn {pfn} has no pte_chain entry for {addr:x}");
        }
        c.Entries.RemoveAt(i);
        while (c.Blocks.Count > BlocksFor(c.Entries.Count))
        {
            PteChainCachep.Free(c.Blocks[^1]);
            c.Blocks.RemoveAt(c.Blocks.Count - 1);
        }
        if (c.Entries.Count == 0)
        {
            _chains.Remove(pfn);
        }
    }

    /// <summary>A single mapping stays inline in the page (PG_direct); more need ceil(n / NRPTE) blocks.</summary>
    private int BlocksFor(int entries) => entries <= 1 ? 0 : (entries + Nrpte - 1) / Nrpte;

    // ------------------------------------------------------------------ queries

    /// <summary>Every PTE mapping `pfn`, found the way this kernel's mode finds them.</summary>
    public RmapResult FindPtes(int pfn)
    {
        var found = new List<(MmStruct, long)>();
        long visited = 0;
        ref var page = ref _mem.PageAt(pfn);
        switch (Mode)
        {
            case RmapMode.ObjRmap:
                if (page.IsAnon)
                {
                    var av = AnonVmaOf(page.Mapping);
                    if (av is not null)
                    {
                        foreach (var vma in av.Head)
                        {
                            visited += Probe(vma, page.Index, pfn, found);
                        }
                    }
                }
                else if (_mem.AddressSpaceOf(page.Mapping) is { } space)
                {
                    foreach (var vma in space.IMmap)
                    {
                        visited += Probe(vma, page.Index, pfn, found);
                    }
                }
                break;
            case RmapMode.PteChain:
                if (_chains.TryGetValue(pfn, out var c))
                {
                    found.AddRange(c.Entries);
                    visited = c.Entries.Count;
                }
                break;
            default:
                foreach (var mm in _mem.Mms)
                {
                    foreach (var (addr, pte) in mm.MappedPtes())
                    {
                        visited++;
                        if (mm.Paging.PfnOf(pte) == pfn)
                        {
                            found.Add((mm, addr));
                        }
                    }
                }
                break;
        }
        return new RmapResult(found, visited, visited * _mem.Options.Costs.RmapPteNs);
    }

    /// <summary>vma_address + page_check_address: does this VMA map the page where its index says?</summary>
    private static long Probe(Vma vma, long index, int pfn, List<(MmStruct, long)> found)
    {
        long addr = vma.VmStart + ((index - vma.VmPgoff) << MemoryLayout.PAGE_SHIFT);
        if (addr < vma.VmStart || addr >= vma.VmEnd)
        {
            return 0;
        }
        if (vma.Mm.PteMaps(addr, pfn))
        {
            found.Add((vma.Mm, addr));
        }
        return 1;
    }

    /// <summary>Every mapped PTE must be found by this mode's reverse map, and nothing more.</summary>
    internal IEnumerable<string> CheckInvariants(Dictionary<int, List<(MmStruct Mm, long Addr)>> ptes)
    {
        if (Mode == RmapMode.None)
        {
            yield break;
        }
        foreach (var (pfn, list) in ptes)
        {
            if (pfn == _mem.ZeroPagePfn)
            {
                continue;
            }
            var got = FindPtes(pfn).Ptes;
            if (got.Count != list.Count || list.Any(e => !got.Contains(e)))
            {
                yield return $"rmap ({Mode}): pfn {pfn} is mapped by {list.Count} ptes but the reverse map finds {got.Count}";
            }
        }
        foreach (var av in _anonVmas)
        {
            if (av is null)
            {
                continue;
            }
            foreach (var v in av.Head)
            {
                if (v.AnonVma != av || v.Mm.Released)
                {
                    yield return $"anon_vma {av.Handle}: lists a vma that is not linked to it";
                }
            }
        }
    }
}
