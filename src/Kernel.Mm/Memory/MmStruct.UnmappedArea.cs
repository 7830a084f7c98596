// Linux 2.6.20 mm/mmap.c get_unmapped_area and the i386 top-down layout's
// arch_get_unmapped_area_topdown / arch_unmap_area_topdown: where a mapping without MAP_FIXED
// goes. The search starts from mm->free_area_cache (where the last one ended) unless a hole
// already skipped (cached_hole_size) could fit the request, so filling the address space one
// mapping at a time costs O(log n) a mapping; munmap lifts the cache to the hole it opens. A
// failed top-down search falls back to the bottom-up search from TASK_UNMAPPED_BASE.
using Kernel.Core;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    /// <summary>arch_get_unmapped_area_topdown: a hint if it is free, else the highest hole below mmap_base.</summary>
    internal long GetUnmappedArea(long addr, long len, int flags)
    {
        if ((flags & MapFlags.MAP_FIXED) != 0)
        {
            // get_unmapped_area checks the range (ENOMEM) before the alignment (EINVAL).
            if (addr < 0 || addr > Paging.TaskSize - len)
            {
                return Errno.ENOMEM.Ret();
            }
            if ((addr & (MemoryLayout.PAGE_SIZE - 1)) != 0)
            {
                return Errno.EINVAL.Ret();
            }
            return addr;
        }
        if (addr != 0)
        {
            addr = PageAlign(addr);
            var v = Vmas.FindVma(addr);
            if (addr > 0 && Paging.TaskSize - len >= addr && (v is null || addr + len <= v.VmStart))
            {
                return addr;
            }
        }
        // arch_get_unmapped_area_topdown with mm->free_area_cache (where the last search ended)
        // and cached_hole_size (the largest hole it skipped): searching from the cache makes
        // filling the address space one mapping at a time O(log n) each, not O(n).
        if ((ulong)len <= CachedHoleSize)
        {
            CachedHoleSize = 0;
            FreeAreaCache = MmapBase;
        }
        long cache = FreeAreaCache;
        if (cache > len)
        {
            var v = Vmas.FindVma(cache - len);
            if (v is null || cache <= v.VmStart)
            {
                return FreeAreaCache = cache - len;
            }
        }
        if (MmapBase >= len)
        {
            long cand = MmapBase - len;
            while (true)
            {
                var v = Vmas.FindVma(cand); // the only area that can overlap [cand, cand+len) from below
                if (v is null || cand + len <= v.VmStart)
                {
                    return FreeAreaCache = cand;
                }
                if ((ulong)(v.VmStart - cand) > CachedHoleSize)
                {
                    CachedHoleSize = (ulong)(v.VmStart - cand); // the largest hole seen so far
                }
                if (len >= v.VmStart)
                {
                    break;
                }
                cand = v.VmStart - len;
            }
        }
        // bottomup: a failed top-down search falls back to arch_get_unmapped_area from
        // TASK_UNMAPPED_BASE, then restores the top-down cache.
        long r = GetUnmappedAreaBottomUp(len);
        FreeAreaCache = MmapBase;
        CachedHoleSize = ulong.MaxValue;
        return r;
    }

    /// <summary>arch_get_unmapped_area (bottom-up from TASK_UNMAPPED_BASE = TASK_SIZE / 3).</summary>
    private long GetUnmappedAreaBottomUp(long len)
    {
        long addr = PageAlign(Paging.TaskSize / 3);
        while (true)
        {
            if (Paging.TaskSize - len < addr)
            {
                return Errno.ENOMEM.Ret();
            }
            var v = Vmas.FindVma(addr);
            if (v is null || addr + len <= v.VmStart)
            {
                return addr;
            }
            addr = v.VmEnd;
        }
    }

    /// <summary>mm->free_area_cache: where the next top-down search starts.</summary>
    public long FreeAreaCache { get; internal set; }

    /// <summary>mm->cached_hole_size: the largest hole the last searches skipped (~0 = unknown).</summary>
    public ulong CachedHoleSize { get; internal set; } = ulong.MaxValue;

    /// <summary>arch_unmap_area_topdown: a hole opened at `addr` may lift the cache, never above mmap_base.</summary>
    private void UnmapAreaTopdown(long addr)
    {
        if (addr > FreeAreaCache)
        {
            FreeAreaCache = addr;
        }
        if (FreeAreaCache > MmapBase)
        {
            FreeAreaCache = MmapBase;
        }
    }
}
