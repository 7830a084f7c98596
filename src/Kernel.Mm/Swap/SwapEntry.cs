// Linux 2.6.20 include/linux/swapops.h and include/asm-i386/pgtable-3level.h: swp_entry_t, the
// 32-bit name of one page of swap (the area's type in the top MAX_SWAPFILES_SHIFT = 5 bits, the
// page offset below), and how a not-present PTE holds one: PAE keeps it in the PTE's high word as
// type | offset << 5 with the low word (and so _PAGE_PRESENT and _PAGE_PROTNONE) zero. A PTE
// that is neither empty nor mapped is a swap entry. The same layout is used on x86_64 (whose
// 2.6.20 encoding differs but holds more), so an area's limit is 2^27 pages on both.
using Kernel.Mm.Memory;

namespace Kernel.Mm.Swap;

public readonly record struct SwpEntry(uint Val)
{
    /// <summary>SWP_TYPE_SHIFT: BITS_PER_LONG - MAX_SWAPFILES_SHIFT on i386.</summary>
    public const int SWP_TYPE_SHIFT = 27;

    public const uint SWP_OFFSET_MASK = (1u << SWP_TYPE_SHIFT) - 1;

    public static SwpEntry None => default;

    /// <summary>swp_entry(type, offset).</summary>
    public static SwpEntry Make(int type, long offset) => new(((uint)type << SWP_TYPE_SHIFT) | ((uint)offset & SWP_OFFSET_MASK));

    public bool IsNone => Val == 0;

    /// <summary>swp_type.</summary>
    public int Type => (int)(Val >> SWP_TYPE_SHIFT);

    /// <summary>swp_offset.</summary>
    public long Offset => Val & SWP_OFFSET_MASK;

    /// <summary>swp_entry_to_pte (PAE: pte_high = type | offset &lt;&lt; 5, pte_low = 0).</summary>
    public ulong ToPte() => (ulong)((uint)Type | ((uint)Offset << 5)) << 32;

    /// <summary>pte_to_swp_entry.</summary>
    public static SwpEntry FromPte(ulong pte)
    {
        uint high = (uint)(pte >> 32);
        return Make((int)(high & 0x1f), high >> 5);
    }

    /// <summary>!pte_none &amp;&amp; !pte_present (and not a PROT_NONE page): the PTE names a page of swap.</summary>
    public static bool IsSwapPte(ulong pte) => pte != 0 && (pte & (Paging._PAGE_PRESENT | MmStruct._PAGE_PROTNONE)) == 0;

    public override string ToString() => $"{Val:x8}";
}
