// Linux 2.6.20 mm/mmap.c for anonymous private memory: do_mmap_pgoff with
// get_unmapped_area (top-down below mmap_base, as i386 lays out since 2.6.9), vma_merge,
// split_vma, do_munmap with zap and free_pgtables, and do_brk / sys_brk (mprotect: MmStruct.Mprotect.cs).
// Results follow the syscall ABI: an address or -errno.
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Memory;

public static class Prot
{
    public const int PROT_NONE = 0;
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int PROT_EXEC = 4;
    /// <summary>Accepted by mprotect and ignored (i386 has no special semaphore memory).</summary>
    public const int PROT_SEM = 8;
    public const int PROT_GROWSDOWN = 0x01000000;
    public const int PROT_GROWSUP = 0x02000000;
}

public static class MapFlags
{
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_GROWSDOWN = 0x0100;
    public const int MAP_DENYWRITE = 0x0800;
    public const int MAP_EXECUTABLE = 0x1000;
    public const int MAP_LOCKED = 0x2000;
    public const int MAP_NORESERVE = 0x4000;
    public const int MAP_POPULATE = 0x8000;
    public const int MAP_NONBLOCK = 0x10000;
}

public sealed partial class MmStruct
{
    /// <summary>sysctl_max_map_count.</summary>
    public const int DEFAULT_MAX_MAP_COUNT = 65530;

    /// <summary>sysctl_max_map_count (/proc/sys/vm/max_map_count).</summary>
    private int MaxMapCount => _mem.MaxMapCount;

    /// <summary>RLIMIT_MEMLOCK default (2.6.20 MLOCK_LIMIT): 32 KiB for unprivileged tasks.</summary>
    public const long MlockLimit = 8 * MemoryLayout.PAGE_SIZE;

    private static long PageAlign(long x) => (x + MemoryLayout.PAGE_SIZE - 1) & ~(MemoryLayout.PAGE_SIZE - 1L);

    private static VmFlags ProtBits(int prot) =>
        ((prot & Prot.PROT_READ) != 0 ? VmFlags.VM_READ : 0) | ((prot & Prot.PROT_WRITE) != 0 ? VmFlags.VM_WRITE : 0) | ((prot & Prot.PROT_EXEC) != 0 ? VmFlags.VM_EXEC : 0);

    /// <summary>
    /// do_mmap_pgoff, called with mmap_sem held for writing: the mapping type and offset checks,
    /// then a file mapping (`file`), shared anonymous memory (an unlinked shmem file, as
    /// shmem_zero_setup makes) or private anonymous memory. The address or -errno.
    /// </summary>
    public long DoMmapPgoff(KFile? file, long addr, long length, int prot, int flags, long offset, bool privileged)
    {
        if ((offset & (MemoryLayout.PAGE_SIZE - 1)) != 0 || length == 0)
        {
            return Errno.EINVAL.Ret();
        }
        // "Careful about overflows": the aligned length must be non-zero and fit in user space,
        // before anything (shmem_zero_setup included) uses it.
        long alen = PageAlign(length);
        if (alen <= 0 || alen > Paging.TaskSize)
        {
            return Errno.ENOMEM.Ret();
        }
        int type = flags & (MapFlags.MAP_SHARED | MapFlags.MAP_PRIVATE);
        if (type is not (MapFlags.MAP_SHARED or MapFlags.MAP_PRIVATE))
        {
            return Errno.EINVAL.Ret();
        }
        if (file is not null)
        {
            return DoMmapFile(file, addr, length, prot, flags, offset);
        }
        if (type == MapFlags.MAP_SHARED)
        {
            var zero = _mem.Shmem.ZeroSetup(alen,
                noreserve: (flags & MapFlags.MAP_NORESERVE) != 0 && _mem.Overcommit.Mode != Overcommit.OVERCOMMIT_NEVER, this);
            if (zero is null)
            {
                return Errno.ENOMEM.Ret();
            }
            long r = DoMmapFile(zero, addr, length, prot, flags & ~MapFlags.MAP_ANONYMOUS, 0);
            zero.Fput(); // the mapping holds its own reference now
            return r;
        }
        return DoMmapAnon(addr, length, prot, flags, privileged);
    }

    /// <summary>do_mmap_pgoff for MAP_ANONYMOUS|MAP_PRIVATE. `privileged`: CAP_IPC_LOCK for MAP_LOCKED.</summary>
    public long DoMmapAnon(long addr, long len, int prot, int flags, bool privileged = false)
    {
        if (len == 0)
        {
            return Errno.EINVAL.Ret();
        }
        // do_mmap_pgoff takes only R/W/X from prot (calc_vm_prot_bits): other bits are ignored.
        long alen = PageAlign(len);
        if (alen <= 0 || alen > Paging.TaskSize)
        {
            return Errno.ENOMEM.Ret();
        }
        if (MapCount > MaxMapCount)
        {
            return Errno.ENOMEM.Ret();
        }
        long start = GetUnmappedArea(addr, alen, flags);
        if (start < 0)
        {
            return start;
        }
        var vmFlags = ProtBits(prot) | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
        if ((flags & MapFlags.MAP_GROWSDOWN) != 0)
        {
            vmFlags |= VmFlags.VM_GROWSDOWN;
        }
        if ((flags & MapFlags.MAP_LOCKED) != 0)
        {
            if (!privileged && (LockedVm + (alen >> MemoryLayout.PAGE_SHIFT)) * MemoryLayout.PAGE_SIZE > MlockLimit)
            {
                return Errno.EAGAIN.Ret();
            }
            vmFlags |= VmFlags.VM_LOCKED;
        }
        if ((flags & MapFlags.MAP_FIXED) != 0)
        {
            long r = DoMunmap(start, alen);
            if (r < 0)
            {
                return r;
            }
        }
        // mmap_region: a private writable area is charged unless MAP_NORESERVE (which
        // OVERCOMMIT_NEVER ignores).
        if ((vmFlags & VmFlags.VM_WRITE) != 0
            && ((flags & MapFlags.MAP_NORESERVE) == 0 || _mem.Overcommit.Mode == Overcommit.OVERCOMMIT_NEVER))
        {
            if (VmEnoughMemory(alen >> MemoryLayout.PAGE_SHIFT) < 0)
            {
                return Errno.ENOMEM.Ret();
            }
            vmFlags |= VmFlags.VM_ACCOUNT;
        }
        var vma = MapRegion(start, alen, vmFlags, VmaKind.Anonymous);
        if (vma is null)
        {
            if ((vmFlags & VmFlags.VM_ACCOUNT) != 0)
            {
                _mem.Overcommit.Unacct(alen >> MemoryLayout.PAGE_SHIFT);
            }
            return Errno.ENOMEM.Ret();
        }
        if ((vmFlags & VmFlags.VM_LOCKED) != 0)
        {
            // make_pages_present. MAP_POPULATE alone does nothing for a private mapping in 2.6.20:
            // remap_file_pages acts only on VM_SHARED areas.
            MakePagesPresent(start, start + alen, (vmFlags & VmFlags.VM_WRITE) != 0);
        }
        return start;
    }

    /// <summary>Create (or merge into a neighbour) an anonymous area over a free range.</summary>
    internal Vma? MapRegion(long start, long len, VmFlags flags, VmaKind kind)
    {
        long pages = len >> MemoryLayout.PAGE_SHIFT;
        long pgoff = start >> MemoryLayout.PAGE_SHIFT;
        var prev = Vmas.FindPrev(start);
        var next = Vmas.FindVma(start);
        Vma? vma = null;
        // can_vma_merge_after/before: same flags and no file, and the pgoffs must continue (an
        // area mremap moved keeps its old pgoff, so nothing new merges with it).
        if (prev is not null && prev.VmEnd == start && CanMerge(prev, flags, kind) && prev.VmPgoff + prev.Pages == pgoff)
        {
            prev.VmEnd = start + len;
            vma = prev;
            if (next is not null && next.VmStart == vma.VmEnd && CanMerge(next, flags, kind) && AnonCompatible(vma, next)
                && next.VmPgoff == pgoff + pages)
            {
                vma.VmEnd = next.VmEnd;
                AdoptAnonVma(vma, next);
                RemoveVma(next, merged: true);
            }
        }
        else if (next is not null && next.VmStart == start + len && CanMerge(next, flags, kind) && next.VmPgoff == pgoff + pages)
        {
            Vmas.Remove(next);
            next.VmStart = start;
            next.VmPgoff -= pages;
            Vmas.Insert(next);
            vma = next;
        }
        else
        {
            vma = NewVma(start, start + len, flags, start >> MemoryLayout.PAGE_SHIFT, kind);
            if (vma is null)
            {
                return null;
            }
            Vmas.Insert(vma);
        }
        TotalVm += pages;
        if ((flags & VmFlags.VM_LOCKED) != 0)
        {
            LockedVm += pages;
        }
        return vma;
    }

    /// <summary>is_mergeable_anon_vma: two areas may become one only if they share an anon_vma or one has none.</summary>
    private static bool AnonCompatible(Vma a, Vma b) => a.AnonVma is null || b.AnonVma is null || a.AnonVma == b.AnonVma;

    /// <summary>The surviving area takes over the absorbed one's anon_vma (its pages point there).</summary>
    private static void AdoptAnonVma(Vma survivor, Vma absorbed)
    {
        if (survivor.AnonVma is null && absorbed.AnonVma is not null)
        {
            Kernel.Mm.Rmap.ReverseMap.Link(survivor, absorbed.AnonVma);
        }
    }

    private static bool CanMerge(Vma v, VmFlags flags, VmaKind kind) =>
        v.File is null && v.VmFlagsValue == flags && v.Kind == kind && !v.Has(VmFlags.VM_GROWSDOWN);

    private Vma? NewVma(long start, long end, VmFlags flags, long pgoff, VmaKind kind, Filemap.KFile? file = null, Rmap.AnonVma? anonVma = null, Filemap.VmOperations? vmOps = null)
    {
        var obj = _mem.VmAreaCachep.Alloc(Gfp.GFP_KERNEL);
        if (obj.IsNone)
        {
            return null;
        }
        var v = new Vma(this, start, end, flags, pgoff, kind) { SlabObj = obj, VmOps = vmOps };
        if (file is not null)
        {
            // get_file + __vma_link_file
            file.Get();
            v.File = file;
            file.Inode.Mapping.LinkVma(v);
        }
        Kernel.Mm.Rmap.ReverseMap.Link(v, anonVma);
        return v;
    }

    /// <summary>__vm_enough_memory for this mm: the current task's privilege decides the 3 % reserve.</summary>
    internal long VmEnoughMemory(long pages) => _mem.Overcommit.VmEnoughMemory(pages, this);

    /// <summary>Remove an area; `merged`: its pages now belong to a neighbour, so its charge stays.</summary>
    private void RemoveVma(Vma v, bool merged = false)
    {
        if (!merged && v.Has(VmFlags.VM_ACCOUNT))
        {
            _mem.Overcommit.Unacct(v.Pages); // remove_vma_list's nr_accounted
        }
        Vmas.Remove(v);
        _mem.Rmap.Unlink(v);
        _mem.VmAreaCachep.Free(v.SlabObj);
        v.SlabObj = Slab.SlabObject.None;
        if (v.File is { } f)
        {
            f.Inode.Mapping.UnlinkVma(v);
            v.File = null;
            f.Fput();
        }
    }

    /// <summary>split_vma: cut `vma` at `addr`; returns the new upper part.</summary>
    private Vma? SplitVma(Vma vma, long addr)
    {
        if (MapCount >= MaxMapCount)
        {
            return null;
        }
        var upper = NewVma(addr, vma.VmEnd, vma.VmFlagsValue, vma.LinearPageIndex(addr), vma.Kind, vma.File, vma.AnonVma, vma.VmOps);
        if (upper is null)
        {
            return null;
        }
        vma.VmEnd = addr;
        Vmas.Insert(upper);
        return upper;
    }

    /// <summary>do_munmap: unmapping a range with nothing in it succeeds.</summary>
    public long DoMunmap(long start, long len)
    {
        // start and len are unsigned long: a "negative" length is beyond TASK_SIZE.
        if ((start & (MemoryLayout.PAGE_SIZE - 1)) != 0 || (ulong)start > (ulong)Paging.TaskSize || (ulong)len > (ulong)(Paging.TaskSize - start))
        {
            return Errno.EINVAL.Ret();
        }
        len = PageAlign(len);
        if (len == 0)
        {
            return Errno.EINVAL.Ret();
        }
        long end = start + len;
        var vma = Vmas.FindVma(start);
        if (vma is null || vma.VmStart >= end)
        {
            return 0;
        }
        if (vma.VmStart < start && SplitVma(vma, start) is null)
        {
            return Errno.ENOMEM.Ret();
        }
        var last = Vmas.FindVma(end - 1);
        if (last is not null && last.VmStart < end && last.VmEnd > end && SplitVma(last, end) is null)
        {
            return Errno.ENOMEM.Ret();
        }
        // The areas now lie wholly inside [start, end): take them one by one from the tree
        // (O(k log n), not a walk of every area).
        Vma? v;
        while ((v = Vmas.FindVma(start)) is not null && v.VmStart < end)
        {
            ZapRange(v.VmStart, v.VmEnd);
            TotalVm -= v.Pages;
            if (v.Has(VmFlags.VM_LOCKED))
            {
                LockedVm -= v.Pages;
            }
            RemoveVma(v);
        }
        FreePgtables(start, end);
        // detach_vmas_to_be_unmapped -> arch_unmap_area_topdown with the start of the area above.
        UnmapAreaTopdown(Vmas.FindVma(end)?.VmStart ?? MmapBase);
        return 0;
    }

    /// <summary>zap_pte_range: unmap every mapped PTE in [start, end) and free the swap entries of the swapped ones.</summary>
    internal void ZapRange(long start, long end)
    {
        for (long a = start; a < end;)
        {
            ref ulong pte = ref FindPte(a);
            if (Unsafe.IsNullRef(ref pte))
            {
                a = (a | (Paging.Span(Paging.Levels - 2) - 1)) + 1; // no PTE table: skip its span
                continue;
            }
            if (PteMapped(pte))
            {
                // free_pages_and_swap_cache: a swap cache page whose copy nobody else needs leaves the cache with its last user.
                int pfn = Paging.PfnOf(pte);
                if (_mem.PageAt(pfn).Test(PageFlag.PG_swapcache))
                {
                    _mem.Swap.FreeSwapCache(pfn);
                }
                ZapPte(ref pte, a);
            }
            else if (pte != 0)
            {
                _mem.Swap.FreeSwapAndCache(Swap.SwpEntry.FromPte(pte)); // zap_pte_range's swap entry
                pte = 0;
            }
            a += MemoryLayout.PAGE_SIZE;
        }
    }

    /// <summary>zap_pte_range for one entry: a file page takes the PTE's dirty bit, then the PTE goes.</summary>
    private void ZapPte(ref ulong pte, long addr)
    {
        long zapNs = _mem.Options.Costs.PteZapNs;
        if (zapNs != 0)
        {
            _mem.Machine.Charge(zapNs);
        }
        int pfn = Paging.PfnOf(pte);
        ref var page = ref _mem.PageAt(pfn);
        if ((pte & Paging._PAGE_DIRTY) != 0 && !page.IsAnon)
        {
            _mem.SetPageDirty(pfn);
        }
        pte = 0;
        DropMapping(pfn, addr);
    }

    /// <summary>free_pgtables: release PTE tables whose whole span no longer has a VMA.</summary>
    internal void FreePgtables(long start, long end)
    {
        long span = Paging.Span(Paging.Levels - 2);
        for (long b = start & ~(span - 1); b < end; b += span)
        {
            var v = Vmas.FindVma(b);
            if (v is not null && v.VmStart < b + span)
            {
                continue;
            }
            // Find the PMD entry that points at this PTE table and clear it.
            int table = Pgd;
            for (int level = 0; level < Paging.Levels - 2; level++)
            {
                ulong e = Entries(table)[Paging.Index(b, level)];
                if ((e & Paging._PAGE_PRESENT) == 0)
                {
                    table = -1;
                    break;
                }
                table = Paging.PfnOf(e);
            }
            if (table < 0)
            {
                continue;
            }
            ref ulong pmd = ref Entries(table)[Paging.Index(b, Paging.Levels - 2)];
            if ((pmd & Paging._PAGE_PRESENT) != 0)
            {
                int pte = Paging.PfnOf(pmd);
                pmd = 0;
                FreeTable(pte);
            }
        }
    }

    /// <summary>True when every page of [start, end) lies in some area.</summary>
    internal bool Covered(long start, long end)
    {
        long cursor = start;
        foreach (var v in Vmas.InOrder().Where(v => v.VmEnd > start && v.VmStart < end))
        {
            if (v.VmStart > cursor)
            {
                return false;
            }
            cursor = v.VmEnd;
        }
        return cursor >= end;
    }

    /// <summary>Split the areas at start and end; returns the areas inside [start, end), or null on ENOMEM.</summary>
    internal List<Vma>? SplitRange(long start, long end)
    {
        var first = Vmas.FindVma(start);
        if (first is not null && first.VmStart < start && first.VmEnd > start && SplitVma(first, start) is null)
        {
            return null;
        }
        var last = Vmas.FindVma(end - 1);
        if (last is not null && last.VmStart < end && last.VmEnd > end && SplitVma(last, end) is null)
        {
            return null;
        }
        return Vmas.InOrder().Where(v => v.VmStart >= start && v.VmEnd <= end).ToList();
    }

    /// <summary>vma_merge after mprotect: neighbours with identical flags become one area again.</summary>
    internal void MergeAround(long start, long end)
    {
        var v = Vmas.FindPrev(start) ?? Vmas.FindVma(start);
        while (v is not null && v.VmStart <= end)
        {
            var next = Vmas.FindVma(v.VmEnd);
            if (next is not null && next.VmStart == v.VmEnd && v.VmFlagsValue == next.VmFlagsValue && v.Kind == next.Kind
                && v.File == next.File && v.VmOps == next.VmOps
                && !v.Has(VmFlags.VM_GROWSDOWN) && next.VmPgoff == v.VmPgoff + v.Pages && AnonCompatible(v, next))
            {
                v.VmEnd = next.VmEnd;
                AdoptAnonVma(v, next);
                RemoveVma(next, merged: true);
                continue;
            }
            v = next;
        }
    }

    /// <summary>sys_brk: returns the (possibly unchanged) break, as the raw syscall does.</summary>
    public long SysBrk(long brk)
    {
        if (brk < EndCode)
        {
            return Brk;
        }
        long newbrk = PageAlign(brk);
        long oldbrk = PageAlign(Brk);
        if (newbrk == oldbrk)
        {
            Brk = brk;
            return Brk;
        }
        if (brk <= Brk)
        {
            if (DoMunmap(newbrk, oldbrk - newbrk) == 0)
            {
                Brk = brk;
            }
            return Brk;
        }
        // Refuse to run into another mapping (find_vma_intersection with a guard page).
        var v = Vmas.FindVma(oldbrk);
        if (v is not null && newbrk + MemoryLayout.PAGE_SIZE > v.VmStart)
        {
            return Brk;
        }
        long pages = (newbrk - oldbrk) >> MemoryLayout.PAGE_SHIFT;
        if (VmEnoughMemory(pages) < 0)
        {
            return Brk; // do_brk's security_vm_enough_memory failed: the break stays
        }
        if (MapRegion(oldbrk, newbrk - oldbrk, VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC | VmFlags.VM_ACCOUNT, VmaKind.Heap) is null)
        {
            _mem.Overcommit.Unacct(pages);
            return Brk;
        }
        Brk = brk;
        return Brk;
    }

    /// <summary>exit_mmap: unmap everything and free the page tables and the mm itself.</summary>
    public void ExitMmap()
    {
        if (Released)
        {
            return;
        }
        foreach (var v in Vmas.InOrder().ToList())
        {
            ZapRange(v.VmStart, v.VmEnd);
            RemoveVma(v);
        }
        TotalVm = 0;
        LockedVm = 0;
        FreeAllTables(Pgd, 0);
        Pgd = -1;
        _mem.MmCachep.Free(_slabObj);
        _mem.Mms.Remove(this);
        Released = true;
    }
}
