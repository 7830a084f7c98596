// Linux 2.6.20 include/linux/sched.h struct mm_struct: an address space — its VMAs, its page
// tables (real frames from the page allocator, entries stored in the frames' bytes), and its
// counters. Page-table frames are lowmem GFP_KERNEL pages (no CONFIG_HIGHPTE), counted in
// NrPtes and /proc/meminfo PageTables.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Core.Tasks;
using Kernel.Mm.Slab;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct : MmContext
{
    private readonly MemorySubsystem _mem;
    private SlabObject _slabObj = SlabObject.None;

    private MmStruct(MemorySubsystem mem, Paging paging)
    {
        _mem = mem;
        Paging = paging;
    }

    /// <summary>The mm_struct of a task (p->mm), or null for a kernel thread or an exited task.</summary>
    public static MmStruct? Of(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return p.Mm as MmStruct;
    }

    /// <summary>mm_alloc + pgd_alloc: null when memory runs out.</summary>
    public static MmStruct? Create(MemorySubsystem mem)
    {
        ArgumentNullException.ThrowIfNull(mem);
        var mm = new MmStruct(mem, mem.Paging);
        mm._slabObj = mem.MmCachep.Alloc(Gfp.GFP_KERNEL);
        if (mm._slabObj.IsNone)
        {
            return null;
        }
        mm.Pgd = mm.AllocTable();
        if (mm.Pgd < 0)
        {
            mem.MmCachep.Free(mm._slabObj);
            return null;
        }
        long gap = 128L << 20; // the stack rlimit gap, clamped to at least 128 MiB
        mm.MmapBase = (mm.Paging.TaskSize - gap) & ~(MemoryLayout.PAGE_SIZE - 1L);
        mm.FreeAreaCache = mm.MmapBase; // arch_pick_mmap_layout
        mem.Mms.Add(mm);
        return mm;
    }

    public MemorySubsystem Memory => _mem;

    /// <summary>mm->swap_address: where the 2.4 swap_out scan resumes in this address space.</summary>
    public long SwapAddress { get; set; }

    public Paging Paging { get; }

    /// <summary>pfn of the top-level table.</summary>
    public int Pgd { get; private set; } = -1;

    public VmaTree Vmas { get; } = new();

    /// <summary>map_count.</summary>
    public int MapCount => Vmas.Count;

    /// <summary>total_vm, locked_vm (pages).</summary>
    public long TotalVm { get; internal set; }
    public long LockedVm { get; internal set; }

    /// <summary>anon_rss and file_rss (pages mapped; the zero page counts as file_rss, as in 2.6.20).</summary>
    public long AnonRss { get; internal set; }
    public long FileRss { get; internal set; }

    /// <summary>Page-table frames in use (nr_ptes; the top level included).</summary>
    public long NrPtes { get; private set; }

    public long StartCode { get; internal set; }
    public long EndCode { get; internal set; }
    public long StartData { get; internal set; }
    public long EndData { get; internal set; }
    public long StartBrk { get; internal set; }
    public long Brk { get; internal set; }
    public long StartStack { get; internal set; }
    public long MmapBase { get; internal set; }

    public bool Released { get; private set; }

    // ------------------------------------------------------------------ page tables

    private int AllocTable()
    {
        int pfn = _mem.AllocPages(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO | Gfp.__GFP_NOWARN, 0);
        if (pfn < 0)
        {
            return -1;
        }
        _mem.WritePage(pfn); // the entries live in the frame's bytes
        NrPtes++;
        _mem.PageTablePages++;
        return pfn;
    }

    private void FreeTable(int pfn)
    {
        NrPtes--;
        _mem.PageTablePages--;
        _mem.FreePages(pfn, 0);
    }

    private Span<ulong> Entries(int tablePfn) => MemoryMarshal.Cast<byte, ulong>(_mem.TableBytes(tablePfn));

    /// <summary>
    /// The PTE slot of `addr` for reading or updating in place, or a null ref when no PTE table
    /// covers it (test with Unsafe.IsNullRef): pte_offset_map without allocation.
    /// </summary>
    internal ref ulong FindPte(long addr) => ref WalkToPte(addr, alloc: false);

    /// <summary>pte_alloc_map: the PTE slot of `addr`, allocating missing tables; a null ref when out of memory.</summary>
    internal ref ulong PteAlloc(long addr) => ref WalkToPte(addr, alloc: true);

    /// <summary>page_check_address: the PTE slot of `addr` if it maps `pfn`, else a null ref.</summary>
    internal ref ulong PageCheckAddress(long addr, int pfn)
    {
        ref ulong pte = ref FindPte(addr);
        if (Unsafe.IsNullRef(ref pte) || !PteMapped(pte) || Paging.PfnOf(pte) != pfn)
        {
            return ref Unsafe.NullRef<ulong>();
        }
        return ref pte;
    }

    /// <summary>
    /// Walk the page tables to the PTE slot of `addr`. With `alloc`, missing tables are allocated
    /// (pmd_alloc/pte_alloc); a null ref means no table, or no memory for one.
    /// </summary>
    private ref ulong WalkToPte(long addr, bool alloc)
    {
        int table = Pgd;
        int last = Paging.Levels - 1;
        for (int level = 0; level < last; level++)
        {
            var entries = Entries(table);
            int i = Paging.Index(addr, level);
            ulong e = entries[i];
            if ((e & Paging._PAGE_PRESENT) == 0)
            {
                if (!alloc)
                {
                    return ref Unsafe.NullRef<ulong>();
                }
                int t = AllocTable();
                if (t < 0)
                {
                    return ref Unsafe.NullRef<ulong>();
                }
                entries[i] = Paging.MkPte(t, Paging._PAGE_TABLE);
                table = t;
            }
            else
            {
                table = Paging.PfnOf(e);
            }
        }
        return ref Entries(table)[Paging.Index(addr, last)];
    }

    /// <summary>The PTE of `addr`, or 0 when there is none.</summary>
    public ulong GetPte(long addr)
    {
        ref ulong pte = ref FindPte(addr);
        return Unsafe.IsNullRef(ref pte) ? 0 : pte;
    }

    /// <summary>free_pgtables for the whole space and the top table: used by exit_mmap.</summary>
    private void FreeAllTables(int table, int level)
    {
        if (level < Paging.Levels - 1)
        {
            int n = level == 0 ? Paging.TopEntries : 512;
            var entries = Entries(table).ToArray();
            for (int i = 0; i < n; i++)
            {
                if ((entries[i] & Paging._PAGE_PRESENT) != 0)
                {
                    FreeAllTables(Paging.PfnOf(entries[i]), level + 1);
                }
            }
        }
        FreeTable(table);
    }

    /// <summary>Statm-style totals: size, resident, shared, text, lib, data, dirty (pages).</summary>
    public (long Size, long Resident, long Shared, long Text, long Lib, long Data, long Dirty) Statm()
    {
        long text = (EndCode - StartCode) >> MemoryLayout.PAGE_SHIFT;
        long data = Vmas.InOrder().Where(v => !v.Has(VmFlags.VM_SHARED) && v.Has(VmFlags.VM_WRITE)).Sum(v => v.Pages);
        return (TotalVm, AnonRss + FileRss, FileRss, text, 0, data, 0);
    }
}
