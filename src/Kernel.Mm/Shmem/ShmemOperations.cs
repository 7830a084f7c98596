// Linux 2.6.20 mm/shmem.c's operation tables: shmem_file_operations (read through
// shmem_file_read, where a hole reads as zeros without allocating; write through the generic
// buffered write; mmap setting shmem_vm_ops), shmem_aops (prepare_write is shmem_getpage, commit
// is generic, writepage moves the page to the swap cache) and shmem_vm_ops (nopage and populate over
// shmem_getpage). tmpfs's backing_dev_info has no dirty accounting, so its shared writable
// mappings are writable at once (no write-notify fault).
using Kernel.Core;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Shmem;

/// <summary>shmem_file_operations.</summary>
public sealed class ShmemFileOperations : FileOperations
{
    private readonly Tmpfs _fs;

    internal ShmemFileOperations(Tmpfs fs) => _fs = fs;

    /// <summary>shmem_file_read: cache pages, or zeros for holes (shmem_getpage SGP_READ), up to i_size.</summary>
    public override long Read(KFile file, MmStruct mm, long buf, long count) => GenericFile.Read(file, mm, buf, count, holesReadAsZeros: true);

    /// <summary>generic_file_write: the buffered write over shmem_aops.</summary>
    public override long Write(KFile file, MmStruct mm, long buf, long count) => GenericFile.Write(file, mm, buf, count);

    /// <summary>The last close: the inode's pages may go if it has no name and no mapping left.</summary>
    public override void Release(KFile file)
    {
        base.Release(file);
        _fs.MaybeEvict(file.Inode);
    }

    /// <summary>shmem_mmap: faults go through shmem_nopage.</summary>
    public override int Mmap(KFile file, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(vma);
        vma.VmOps = _fs.VmOps;
        return 0;
    }
}

/// <summary>shmem_aops.</summary>
public sealed class ShmemAddressSpaceOperations : AddressSpaceOperations
{
    private readonly Tmpfs _fs;

    internal ShmemAddressSpaceOperations(Tmpfs fs) => _fs = fs;

    public override string Name => "shmem_aops";

    /// <summary>shmem_getpage's lookup: the cached page, else the page back from swap (-EIOCBRETRY while it is read), else -1.</summary>
    public override int LookupPage(MemorySubsystem mem, AddressSpace mapping, long index)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return _fs.FindOrSwapIn((ShmemInode)mapping.Host, index);
    }

    /// <summary>BDI_CAP_NO_ACCT_DIRTY: shared writable mappings need no write-notify fault.</summary>
    public override bool CapAccountDirty => false;

    /// <summary>shmem_aops has no readpage: a tmpfs page is in memory or in swap, never read ahead.</summary>
    public override bool ReadsFromBackingStore => false;

    /// <summary>A new tmpfs page is a hole: zeros, uptodate at once (what shmem_getpage does).</summary>
    public override int ReadPage(MemorySubsystem mem, AddressSpace mapping, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mem);
        mem.PageAt(pfn).Set(PageFlag.PG_uptodate);
        mem.PageWait.UnlockPage(pfn); // an in-memory read completes at once
        return 0;
    }

    /// <summary>shmem_writepage: move the page to the swap cache (reclaim writes it from there), or redirty and keep it (AOP_WRITEPAGE_ACTIVATE) without swap space.</summary>
    public override int WritePage(MemorySubsystem mem, AddressSpace mapping, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (_fs.Writepage((ShmemInode)mapping.Host, pfn))
        {
            return 0;
        }
        SetPageDirty(mem, mapping, pfn);
        return AOP_WRITEPAGE_ACTIVATE;
    }

    /// <summary>shmem_prepare_write: shmem_getpage(SGP_WRITE) makes a new page uptodate (zeros).</summary>
    public override int PrepareWrite(MemorySubsystem mem, KFile file, int pfn, int fromByte, int toByte)
    {
        ArgumentNullException.ThrowIfNull(mem);
        mem.PageAt(pfn).Set(PageFlag.PG_uptodate);
        return 0;
    }
}

/// <summary>shmem_vm_ops.</summary>
public sealed class ShmemVmOperations : VmOperations
{
    private readonly Tmpfs _fs;

    internal ShmemVmOperations(Tmpfs fs) => _fs = fs;

    public override string Name => "shmem_vm_ops";

    /// <summary>shmem_nopage: SIGBUS past i_size, else shmem_getpage(SGP_CACHE), referenced.</summary>
    public override int Nopage(Vma vma, long address, out bool major)
    {
        ArgumentNullException.ThrowIfNull(vma);
        major = false;
        var inode = (ShmemInode)vma.File!.Inode;
        long index = vma.LinearPageIndex(address);
        if (index >= inode.SizeInPages)
        {
            return NOPAGE_SIGBUS;
        }
        int pfn = _fs.GetPage(inode, index, allocate: true);
        if (pfn < 0)
        {
            return pfn == (int)Errno.EIOCBRETRY.Ret() ? NOPAGE_RETRY : pfn == (int)Errno.EIO.Ret() ? NOPAGE_SIGBUS : NOPAGE_OOM;
        }
        vma.Mm.Memory.PageAt(pfn).Count++; // page_cache_get: the caller's reference
        vma.Mm.Memory.MarkPageAccessed(pfn); // shmem_nopage
        return pfn;
    }

    /// <summary>shmem_populate: map each page of the range that exists or can be allocated (install_page).</summary>
    public override int Populate(Vma vma, long addr, long len, bool nonblock)
    {
        ArgumentNullException.ThrowIfNull(vma);
        var inode = (ShmemInode)vma.File!.Inode;
        for (long a = addr; a < addr + len; a += MemoryLayout.PAGE_SIZE)
        {
            long index = vma.LinearPageIndex(a);
            if (index >= inode.SizeInPages)
            {
                return (int)Errno.EINVAL.Ret();
            }
            int pfn = _fs.GetPage(inode, index, allocate: !nonblock);
            if (pfn < 0)
            {
                if (nonblock || pfn == (int)Errno.EIOCBRETRY.Ret())
                {
                    continue; // not at hand now: the first fault brings it in
                }
                return (int)Errno.ENOMEM.Ret();
            }
            vma.Mm.Memory.PageAt(pfn).Count++;
            int err = vma.Mm.InstallPage(vma, a, pfn);
            if (err < 0)
            {
                return err;
            }
        }
        return 0;
    }
}
