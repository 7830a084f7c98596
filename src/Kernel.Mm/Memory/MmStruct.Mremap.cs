// Linux 2.6.20 mm/mremap.c: mremap shrinks an area, grows it in place when the pages after it are
// free (anonymous, shared or file), and otherwise moves the page-table entries (the pages stay where
// they are, so contents move with no copy). Lengths are unsigned long, as in Linux.
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public static class MremapFlags
{
    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;
}

public sealed partial class MmStruct
{
    public long Mremap(long oldAddr, long oldLen, long newLen, int flags, long newAddr)
    {
        if ((flags & ~(MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED)) != 0 || (oldAddr & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        bool fixedAddr = (flags & MremapFlags.MREMAP_FIXED) != 0;
        // The lengths are unsigned long: a "negative" one is a length beyond TASK_SIZE.
        if ((ulong)oldLen > (ulong)Paging.TaskSize || (ulong)newLen > (ulong)Paging.TaskSize)
        {
            if (fixedAddr || (ulong)oldLen >= (ulong)newLen)
            {
                return Errno.EINVAL.Ret(); // MREMAP_FIXED's range check, or the shrink's do_munmap
            }
            var v = Vmas.FindVma(oldAddr);
            // Growing by more than the address space: no room in place or anywhere else.
            return v is null || v.VmStart > oldAddr ? Errno.EFAULT.Ret() : Errno.ENOMEM.Ret();
        }
        oldLen = PageAlign(oldLen);
        newLen = PageAlign(newLen);
        if (newLen == 0)
        {
            return Errno.EINVAL.Ret();
        }
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
            // do_mremap clears the destination before it looks the source area up: the unmap may
            // split (or remove part of) the very area the old range lies in.
            long unmapped = DoMunmap(newAddr, newLen);
            if (unmapped < 0)
            {
                return unmapped;
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
        if (!fixedAddr && oldAddr + oldLen == vma.VmEnd)
        {
            // vma_expandable + vma_adjust: any area (anonymous, shared, file) grows in place when
            // the pages after it are free.
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
            dest = newAddr; // cleared above
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
        var moved = NewVma(dest, dest + newLen, vma.VmFlagsValue, vma.LinearPageIndex(oldAddr), vma.Kind == VmaKind.Stack ? VmaKind.Anonymous : vma.Kind, vma.File, vma.AnonVma, vma.VmOps);
        if (moved is null)
        {
            if (vma.Has(VmFlags.VM_ACCOUNT))
            {
                _mem.Overcommit.Unacct(newLen >> MemoryLayout.PAGE_SHIFT);
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
            if (pte == 0)
            {
                continue;
            }
            ref ulong destPte = ref PteAlloc(dest + off);
            if (Unsafe.IsNullRef(ref destPte))
            {
                return Errno.ENOMEM.Ret();
            }
            if (PteMapped(pte))
            {
                int pfn = Paging.PfnOf(pte);
                if (!_mem.Rmap.AddPte(pfn, this, dest + off))
                {
                    return Errno.ENOMEM.Ret();
                }
                _mem.Rmap.RemovePte(pfn, this, oldAddr + off);
            }
            destPte = pte; // move_ptes moves swap entries as they are
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
}
