// Linux 2.6.20 mm/mremap.c, mm/madvise.c, mm/mincore.c, mm/msync.c and mm/mlock.c for anonymous
// memory. mremap grows in place when it can and otherwise moves the page-table entries (the
// pages themselves stay where they are, so contents move with no copy).
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public static class MremapFlags
{
    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;
}

public static class Madv
{
    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
}

public static class MsFlags
{
    public const int MS_ASYNC = 1;
    public const int MS_INVALIDATE = 2;
    public const int MS_SYNC = 4;
}

public sealed partial class MmStruct
{
    public long Mremap(long oldAddr, long oldLen, long newLen, int flags, long newAddr)
    {
        if ((flags & ~(MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED)) != 0 || (oldAddr & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        oldLen = PageAlign(oldLen);
        newLen = PageAlign(newLen);
        if (newLen == 0)
        {
            return Errno.EINVAL.Ret();
        }
        bool fixedAddr = (flags & MremapFlags.MREMAP_FIXED) != 0;
        if (fixedAddr)
        {
            if ((flags & MremapFlags.MREMAP_MAYMOVE) == 0 || (newAddr & (MemoryLayout.PAGE_SIZE - 1)) != 0)
            {
                return Errno.EINVAL.Ret();
            }
            if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen)
            {
                return Errno.EINVAL.Ret(); // overlapping source and destination
            }
        }
        if (!fixedAddr && newLen <= oldLen)
        {
            if (newLen < oldLen)
            {
                long r = DoMunmap(oldAddr + newLen, oldLen - newLen);
                if (r < 0)
                {
                    return r;
                }
            }
            return oldAddr;
        }
        var vma = Vmas.FindVma(oldAddr);
        if (vma is null || vma.VmStart > oldAddr || oldAddr + oldLen > vma.VmEnd)
        {
            return Errno.EFAULT.Ret();
        }
        if (vma.Has(VmFlags.VM_LOCKED) && (LockedVm + ((newLen - oldLen) >> MemoryLayout.PAGE_SHIFT)) * MemoryLayout.PAGE_SIZE > MlockLimit)
        {
            return Errno.EAGAIN.Ret();
        }
        if (!fixedAddr && oldAddr + oldLen == vma.VmEnd && vma.File is null)
        {
            var next = Vmas.FindVma(vma.VmEnd);
            if ((next is null || next.VmStart >= oldAddr + newLen) && oldAddr + newLen <= Paging.TaskSize)
            {
                long grow = (newLen - oldLen) >> MemoryLayout.PAGE_SHIFT;
                if (vma.Has(VmFlags.VM_ACCOUNT) && VmEnoughMemory(grow) < 0)
                {
                    return Errno.ENOMEM.Ret();
                }
                vma.VmEnd = oldAddr + newLen;
                TotalVm += grow;
                if (vma.Has(VmFlags.VM_LOCKED))
                {
                    LockedVm += grow;
                    MakePagesPresent(oldAddr + oldLen, oldAddr + newLen, vma.Has(VmFlags.VM_WRITE));
                }
                UpdateHiwater();
                return oldAddr;
            }
        }
        if ((flags & MremapFlags.MREMAP_MAYMOVE) == 0)
        {
            return Errno.ENOMEM.Ret();
        }
        long dest;
        if (fixedAddr)
        {
            long r = DoMunmap(newAddr, newLen);
            if (r < 0)
            {
                return r;
            }
            dest = newAddr;
        }
        else
        {
            dest = GetUnmappedArea(0, newLen, 0);
            if (dest < 0)
            {
                return dest;
            }
        }
        return MoveVma(vma, oldAddr, oldLen, dest, newLen);
    }

    /// <summary>move_vma: a new area at dest, the PTEs moved over, the old range unmapped.</summary>
    private long MoveVma(Vma vma, long oldAddr, long oldLen, long dest, long newLen)
    {
        // The new area is charged in full; unmapping the old range gives the old charge back.
        if (vma.Has(VmFlags.VM_ACCOUNT) && VmEnoughMemory(newLen >> MemoryLayout.PAGE_SHIFT) < 0)
        {
            return Errno.ENOMEM.Ret();
        }
        var moved = NewVma(dest, dest + newLen, vma.VmFlagsValue, vma.VmPgoff + ((oldAddr - vma.VmStart) >> MemoryLayout.PAGE_SHIFT), vma.Kind == VmaKind.Stack ? VmaKind.Anonymous : vma.Kind, vma.File, vma.AnonVma, vma.VmOps);
        if (moved is null)
        {
            if (vma.Has(VmFlags.VM_ACCOUNT))
            {
                _node.Overcommit.Unacct(newLen >> MemoryLayout.PAGE_SHIFT);
            }
            return Errno.ENOMEM.Ret();
        }
        Vmas.Insert(moved);
        TotalVm += newLen >> MemoryLayout.PAGE_SHIFT;
        long n = Math.Min(oldLen, newLen);
        for (long off = 0; off < n; off += MemoryLayout.PAGE_SIZE)
        {
            ref ulong pte = ref FindPte(oldAddr + off);
            if (Unsafe.IsNullRef(ref pte))
            {
                continue;
            }
            if (!PteMapped(pte))
            {
                continue;
            }
            ref ulong destPte = ref PteAlloc(dest + off);
            if (Unsafe.IsNullRef(ref destPte))
            {
                return Errno.ENOMEM.Ret();
            }
            int pfn = Paging.PfnOf(pte);
            if (!_node.Rmap.AddPte(pfn, this, dest + off))
            {
                return Errno.ENOMEM.Ret();
            }
            _node.Rmap.RemovePte(pfn, this, oldAddr + off);
            destPte = pte;
            pte = 0;
        }
        if (vma.Has(VmFlags.VM_LOCKED))
        {
            LockedVm += newLen >> MemoryLayout.PAGE_SHIFT;
        }
        DoMunmap(oldAddr, oldLen);
        UpdateHiwater();
        return dest;
    }

    public long Madvise(long start, long len, int advice)
    {
        if ((start & (MemoryLayout.PAGE_SIZE - 1)) != 0 || advice is < Madv.MADV_NORMAL or > Madv.MADV_DONTNEED)
        {
            return Errno.EINVAL.Ret();
        }
        len = PageAlign(len);
        long end = start + len;
        if (end < start)
        {
            return Errno.EINVAL.Ret();
        }
        if (end == start)
        {
            return 0;
        }
        bool hole = !Covered(start, end);
        var areas = SplitRange(start, end);
        if (areas is null)
        {
            return Errno.ENOMEM.Ret();
        }
        foreach (var v in areas)
        {
            switch (advice)
            {
                case Madv.MADV_NORMAL:
                    v.VmFlagsValue &= ~(VmFlags.VM_SEQ_READ | VmFlags.VM_RAND_READ);
                    break;
                case Madv.MADV_RANDOM:
                    v.VmFlagsValue = (v.VmFlagsValue & ~VmFlags.VM_SEQ_READ) | VmFlags.VM_RAND_READ;
                    break;
                case Madv.MADV_SEQUENTIAL:
                    v.VmFlagsValue = (v.VmFlagsValue & ~VmFlags.VM_RAND_READ) | VmFlags.VM_SEQ_READ;
                    break;
                case Madv.MADV_WILLNEED:
                    if (v.File is null)
                    {
                        return Errno.EBADF.Ret(); // 2.6.20 madvise_willneed: no file to read ahead
                    }
                    break; // tmpfs pages are already in memory: readahead has nothing to do
                case Madv.MADV_DONTNEED:
                    if (v.Has(VmFlags.VM_LOCKED))
                    {
                        return Errno.EINVAL.Ret();
                    }
                    ZapRange(v.VmStart, v.VmEnd); // the next touch sees fresh zero-filled memory
                    break;
            }
        }
        MergeAround(start, end);
        return hole ? Errno.ENOMEM.Ret() : 0;
    }

    /// <summary>mincore: one byte per page, 1 when the page is resident. ENOMEM when the range has holes.</summary>
    public long Mincore(long start, long len, Span<byte> vec)
    {
        if ((start & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        long pages = PageAlign(len) >> MemoryLayout.PAGE_SHIFT;
        if (start + len < start || start + len > Paging.TaskSize)
        {
            return Errno.ENOMEM.Ret();
        }
        if (!Covered(start, start + PageAlign(len)))
        {
            return Errno.ENOMEM.Ret();
        }
        if (vec.Length < pages)
        {
            return Errno.EFAULT.Ret();
        }
        for (long i = 0; i < pages; i++)
        {
            vec[(int)i] = (byte)((GetPte(start + i * MemoryLayout.PAGE_SIZE) & Paging._PAGE_PRESENT) != 0 ? 1 : 0);
        }
        return 0;
    }

    /// <summary>msync: validates the range and flags; anonymous memory has nothing to write back.</summary>
    public long Msync(long start, long len, int flags)
    {
        if ((start & (MemoryLayout.PAGE_SIZE - 1)) != 0 || (flags & ~(MsFlags.MS_ASYNC | MsFlags.MS_INVALIDATE | MsFlags.MS_SYNC)) != 0
            || (flags & (MsFlags.MS_ASYNC | MsFlags.MS_SYNC)) == (MsFlags.MS_ASYNC | MsFlags.MS_SYNC))
        {
            return Errno.EINVAL.Ret();
        }
        long end = start + PageAlign(len);
        if (end < start)
        {
            return Errno.ENOMEM.Ret();
        }
        if (end == start)
        {
            return 0;
        }
        foreach (var v in Vmas.InOrder().Where(v => v.VmEnd > start && v.VmStart < end))
        {
            if ((flags & MsFlags.MS_INVALIDATE) != 0 && v.Has(VmFlags.VM_LOCKED))
            {
                return Errno.EBUSY.Ret();
            }
        }
        return Covered(start, end) ? 0 : Errno.ENOMEM.Ret();
    }

    /// <summary>mlock / munlock: unprivileged callers are held to RLIMIT_MEMLOCK (ENOMEM beyond it).</summary>
    public long Mlock(long start, long len, bool lockPages, bool privileged)
    {
        long end = PageAlign(start + len);
        start &= ~(MemoryLayout.PAGE_SIZE - 1L);
        if (end < start)
        {
            return Errno.EINVAL.Ret();
        }
        if (end == start)
        {
            return 0;
        }
        if (lockPages && !privileged && (LockedVm * MemoryLayout.PAGE_SIZE + (end - start)) > MlockLimit)
        {
            return Errno.ENOMEM.Ret();
        }
        if (!Covered(start, end))
        {
            return Errno.ENOMEM.Ret();
        }
        var areas = SplitRange(start, end);
        if (areas is null)
        {
            return Errno.EAGAIN.Ret();
        }
        foreach (var v in areas)
        {
            bool was = v.Has(VmFlags.VM_LOCKED);
            if (lockPages && !was)
            {
                v.VmFlagsValue |= VmFlags.VM_LOCKED;
                LockedVm += v.Pages;
                MakePagesPresent(v.VmStart, v.VmEnd, v.Has(VmFlags.VM_WRITE));
            }
            else if (!lockPages && was)
            {
                v.VmFlagsValue &= ~VmFlags.VM_LOCKED;
                LockedVm -= v.Pages;
            }
        }
        MergeAround(start, end);
        return 0;
    }
}
