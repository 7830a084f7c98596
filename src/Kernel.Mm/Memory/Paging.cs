// x86 page-table formats. i386 with PAE: 3 levels (a 4-entry PGD, 512-entry PMDs and PTE
// tables, 64-bit entries), TASK_SIZE 3 GiB. x86_64: 4 levels of 512 entries, a 47-bit user
// space. PTE bits as include/asm-i386/pgtable.h: the hardware sets ACCESSED and DIRTY.
namespace Kernel.Mm.Memory;

public sealed class Paging
{
    public const ulong _PAGE_PRESENT = 0x001;
    public const ulong _PAGE_RW = 0x002;
    public const ulong _PAGE_USER = 0x004;
    public const ulong _PAGE_PWT = 0x008;
    public const ulong _PAGE_PCD = 0x010;
    public const ulong _PAGE_ACCESSED = 0x020;
    public const ulong _PAGE_DIRTY = 0x040;
    public const ulong _PAGE_PSE = 0x080;
    public const ulong _PAGE_GLOBAL = 0x100;
    public const ulong _PAGE_NX = 1UL << 63;

    /// <summary>A table entry pointing at a lower table (_PAGE_TABLE).</summary>
    public const ulong _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

    private Paging(Architecture arch, int[] shifts, int topEntries, long taskSize, ulong pfnMask)
    {
        Arch = arch;
        Shifts = shifts;
        TopEntries = topEntries;
        TaskSize = taskSize;
        PfnMask = pfnMask;
    }

    public static Paging For(Architecture arch) => arch switch
    {
        Architecture.I386Pae => new Paging(arch, [30, 21, 12], 4, 0xC0000000L, 0x0000000FFFFFF000UL),
        _ => new Paging(arch, [39, 30, 21, 12], 512, 0x7FFFFFFFF000L, 0x000FFFFFFFFFF000UL),
    };

    public Architecture Arch { get; }

    /// <summary>Address bit where each level's index starts, top level first; the last is the PTE level.</summary>
    public int[] Shifts { get; }

    public int Levels => Shifts.Length;

    public int TopEntries { get; }

    /// <summary>TASK_SIZE: the end of user space.</summary>
    public long TaskSize { get; }

    public ulong PfnMask { get; }

    public int Index(long addr, int level) => (int)((ulong)addr >> Shifts[level] & (level == 0 ? (ulong)TopEntries - 1 : 511));

    public int PfnOf(ulong entry) => (int)((entry & PfnMask) >> MemoryLayout.PAGE_SHIFT);

    public static ulong MkPte(int pfn, ulong prot) => ((ulong)pfn << MemoryLayout.PAGE_SHIFT) | prot;

    /// <summary>Bytes one entry at `level` covers.</summary>
    public long Span(int level) => 1L << Shifts[level];
}
