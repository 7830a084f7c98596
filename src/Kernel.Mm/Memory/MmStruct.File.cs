// File mappings of tmpfs files (mm/mmap.c do_mmap_pgoff with a file, mm/filemap.c
// unmap_mapping_range): a shared mapping maps the file's own pages; a private one maps them
// read-only and copies on write. Each file VMA holds a reference on its struct file and sits in
// the file's i_mmap list.
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    /// <summary>do_mmap_pgoff for a tmpfs file (or shared anonymous memory's shmem file).</summary>
    public long DoMmapFile(KFile file, long addr, long len, int prot, int flags, long offset)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.FOps.HasMmap)
        {
            return Errno.ENODEV.Ret(); // do_mmap_pgoff: no f_op->mmap, checked first
        }
        if (len == 0 || (offset & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        long alen = PageAlign(len);
        if (alen <= 0 || alen > Paging.TaskSize)
        {
            return Errno.ENOMEM.Ret();
        }
        long pgoff = offset >> MemoryLayout.PAGE_SHIFT;
        // do_mmap_pgoff: pgoff + pages must not wrap pgoff_t (unsigned long: 32 bits on i386).
        ulong pgoffMax = Paging.Arch == Architecture.I386Pae ? uint.MaxValue : ulong.MaxValue;
        if (offset < 0 || (ulong)pgoff > pgoffMax - (ulong)(alen >> MemoryLayout.PAGE_SHIFT))
        {
            return Errno.EOVERFLOW.Ret();
        }
        bool shared = (flags & MapFlags.MAP_SHARED) != 0;
        if (!file.CanRead)
        {
            return Errno.EACCES.Ret();
        }
        var vmFlags = ProtBits(prot) | VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
        if (shared)
        {
            if ((prot & Prot.PROT_WRITE) != 0 && !file.CanWrite)
            {
                return Errno.EACCES.Ret();
            }
            vmFlags |= VmFlags.VM_SHARED | VmFlags.VM_MAYSHARE;
            if (!file.CanWrite)
            {
                vmFlags &= ~(VmFlags.VM_MAYWRITE | VmFlags.VM_SHARED);
            }
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
        if ((flags & MapFlags.MAP_FIXED) != 0)
        {
            long r = DoMunmap(start, alen);
            if (r < 0)
            {
                return r;
            }
        }
        // mmap_region: a private writable file mapping is charged (its COW copies are anonymous);
        // a shared one is not (shared anonymous memory is charged by its shmem file instead).
        if ((vmFlags & (VmFlags.VM_SHARED | VmFlags.VM_WRITE)) == VmFlags.VM_WRITE
            && ((flags & MapFlags.MAP_NORESERVE) == 0 || _mem.Overcommit.Mode == Overcommit.OVERCOMMIT_NEVER))
        {
            if (VmEnoughMemory(alen >> MemoryLayout.PAGE_SHIFT) < 0)
            {
                return Errno.ENOMEM.Ret();
            }
            vmFlags |= VmFlags.VM_ACCOUNT;
        }
        var vma = NewVma(start, start + alen, vmFlags, pgoff, VmaKind.Anonymous, file);
        if (vma is null)
        {
            if ((vmFlags & VmFlags.VM_ACCOUNT) != 0)
            {
                _mem.Overcommit.Unacct(alen >> MemoryLayout.PAGE_SHIFT);
            }
            return Errno.ENOMEM.Ret();
        }
        Vmas.Insert(vma);
        int err = file.FOps.Mmap(file, vma);
        if (err < 0)
        {
            RemoveVma(vma);
            return err;
        }
        TotalVm += alen >> MemoryLayout.PAGE_SHIFT;
        bool populate = (flags & MapFlags.MAP_POPULATE) != 0 && vma.Has(VmFlags.VM_SHARED) && vma.VmOps is not null;
        var ops = vma.VmOps;
        // vma_merge for file mappings: the same file with contiguous pgoffs becomes one area.
        MergeAround(start, start + alen);
        if (populate)
        {
            // mmap_region -> sys_remap_file_pages -> vm_ops->populate: 2.6.20 populates only
            // shared mappings (private ones were fixed in 2.6.23).
            ops!.Populate(Vmas.FindVma(start)!, start, alen, nonblock: (flags & MapFlags.MAP_NONBLOCK) != 0);
        }
        else if ((vmFlags & VmFlags.VM_LOCKED) != 0)
        {
            MakePagesPresent(start, start + alen, shared && (vmFlags & VmFlags.VM_WRITE) != 0);
        }
        UpdateHiwater();
        return start;
    }

    /// <summary>unmap_mapping_range for one page: drop this VMA's PTE if it maps the file's page.</summary>
    internal void UnmapFilePage(Vma vma, long index, int pfn)
    {
        if (index < vma.VmPgoff || index >= vma.VmPgoff + vma.Pages)
        {
            return;
        }
        long addr = vma.VmStart + ((index - vma.VmPgoff) << MemoryLayout.PAGE_SHIFT);
        ref ulong pte = ref PageCheckAddress(addr, pfn);
        if (!Unsafe.IsNullRef(ref pte))
        {
            ZapPte(ref pte, addr);
        }
    }

    /// <summary>ptep_test_and_clear_young.</summary>
    internal bool TestAndClearYoung(long addr)
    {
        ref ulong pte = ref FindPte(addr);
        if (Unsafe.IsNullRef(ref pte))
        {
            return false;
        }
        bool young = (pte & Paging._PAGE_ACCESSED) != 0;
        pte &= ~Paging._PAGE_ACCESSED;
        return young;
    }

    /// <summary>
    /// try_to_unmap_one: the dirty bit moves to the page, the PTE goes; an anonymous page's PTE
    /// becomes its swap entry (the page is in the swap cache, which reclaim saw to), one more use of it.
    /// </summary>
    internal void UnmapOne(long addr, int pfn)
    {
        ref ulong pte = ref PageCheckAddress(addr, pfn);
        if (Unsafe.IsNullRef(ref pte))
        {
            return;
        }
        ref var page = ref _mem.PageAt(pfn);
        if ((pte & Paging._PAGE_DIRTY) != 0)
        {
            _mem.SetPageDirty(pfn);
        }
        if (page.IsAnon)
        {
            var entry = new Swap.SwpEntry(page.Private);
            if (!page.Test(PageFlag.PG_swapcache) || !_mem.Swap.SwapDuplicate(entry))
            {
                throw new Kernel.Core.KernelBug($"try_to_unmap_one: anonymous pfn {pfn} has no swap entry");
            }
            ZapPte(ref pte, addr);
            pte = entry.ToPte();
            return;
        }
        ZapPte(ref pte, addr);
    }

    /// <summary>page_mkclean_one: clear dirty and write permission; true if the PTE was dirty or writable.</summary>
    internal bool CleanAndProtect(long addr)
    {
        ref ulong pte = ref FindPte(addr);
        if (Unsafe.IsNullRef(ref pte))
        {
            return false;
        }
        bool was = (pte & (Paging._PAGE_DIRTY | Paging._PAGE_RW)) != 0;
        pte &= ~(Paging._PAGE_DIRTY | Paging._PAGE_RW);
        return was;
    }
}
