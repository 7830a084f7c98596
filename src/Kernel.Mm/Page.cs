// Linux 2.6.20 include/linux/mm_types.h struct page and include/linux/page-flags.h. One value per
// page frame in mem_map, indexed by pfn, with no references inside: the GC never scans mem_map,
// and list links are pfns. Always access it by ref (`ref var page = ref memMap[pfn]`): a copy
// silently loses writes. Field sizes follow i386, where unsigned long is 32 bits, except index:
// pgoff_t is an unsigned long, 64 bits on x86_64, where an anonymous page's index (its virtual
// page number) needs 35 bits, so it is 64 bits here for both architectures.
using System.Runtime.InteropServices;

namespace Kernel.Mm;

[StructLayout(LayoutKind.Sequential)]
public struct Page
{
    /// <summary>PG_ bits (0..19, 31) and the zone in bits 30-31 (ZONES_PGSHIFT on i386). Atomic bitops in Linux.</summary>
    public uint Flags;

    /// <summary>_count: references; 0 when free (2.6.20 convention). Guarded by atomic ops.</summary>
    public int Count;

    /// <summary>_mapcount: PTEs mapping the page, minus one (-1 = unmapped). Guarded by the PTE lock.</summary>
    public int MapCount;

    /// <summary>
    /// mapping: handle of the owning address_space, or of an anon_vma with bit 0 set
    /// (PAGE_MAPPING_ANON); 0 = none. Guarded by the page lock.
    /// </summary>
    public int Mapping;

    /// <summary>index: offset within the mapping (pgoff_t), or the virtual page of an anonymous page.</summary>
    public long Index;

    /// <summary>private: the buddy order while free (PG_buddy), a swp_entry_t in the swap cache, fs data.</summary>
    public uint Private;

    /// <summary>lru.next / lru.prev as pfns (-1 = none): buddy free lists, per-CPU lists, LRU lists.</summary>
    public int LruNext;
    public int LruPrev;

    /// <summary>Handle of the page's contents (0 = never written, reads as zeros).</summary>
    public int Contents;

    public const int PAGE_MAPPING_ANON = 1;

    public readonly bool Test(PageFlag f) => (Flags & (1u << (int)f)) != 0;

    public void Set(PageFlag f) => Flags |= 1u << (int)f;

    public void Clear(PageFlag f) => Flags &= ~(1u << (int)f);

    /// <summary>page_zonenum.</summary>
    public readonly int ZoneIndex => (int)(Flags >> ZONES_PGSHIFT);

    public const int ZONES_PGSHIFT = 30;

    public readonly bool IsAnon => (Mapping & PAGE_MAPPING_ANON) != 0;

    /// <summary>page->age (2.4.0's design: up by PAGE_AGE_ADV when referenced, halved when not), kept in flag bits 21-27.</summary>
    public readonly int Age => (int)((Flags >> AGE_SHIFT) & AGE_MASK);

    internal void SetAge(int age) => Flags = (Flags & ~(AGE_MASK << AGE_SHIFT)) | ((uint)Math.Clamp(age, 0, (int)AGE_MASK) << AGE_SHIFT);

    private const int AGE_SHIFT = 21;
    private const uint AGE_MASK = 0x7f;

    /// <summary>page_mapcount().</summary>
    public readonly int PageMapcount => MapCount + 1;
}

/// <summary>PG_ bit numbers of 2.6.20 include/linux/page-flags.h.</summary>
public enum PageFlag
{
    PG_locked = 0,
    PG_error = 1,
    PG_referenced = 2,
    PG_uptodate = 3,
    PG_dirty = 4,
    PG_lru = 5,
    PG_active = 6,
    PG_slab = 7,
    PG_checked = 8,
    PG_arch_1 = 9,
    PG_reserved = 10,
    PG_private = 11,
    PG_writeback = 12,
    PG_nosave = 13,
    PG_compound = 14,
    PG_swapcache = 15,
    PG_mappedtodisk = 16,
    PG_reclaim = 17,
    PG_nosave_free = 18,
    PG_buddy = 19,
    PG_inactive_clean = 20, // 2.4.0's third list (the Aging24 design only); bits 21-27 hold its page age
    PG_uncached = 29, // bit 31 on 64-bit Linux; bits 30-31 hold the zone in this 32-bit word
}
