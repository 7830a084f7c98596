// Linux 2.6.20 mm/mprotect.c: sys_mprotect area by area (mprotect_fixup) and change_pte_range.
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    /// <summary>
    /// sys_mprotect as 2.6.20 runs it: VMA by VMA from `start`, so an error (EACCES for a
    /// permission the area may not have, ENOMEM at a hole) leaves the areas before it changed.
    /// PROT_GROWSDOWN extends the range down to the start of a stack area.
    /// </summary>
    public long Mprotect(long start, long len, int prot)
    {
        int grows = prot & (Prot.PROT_GROWSDOWN | Prot.PROT_GROWSUP);
        prot &= ~(Prot.PROT_GROWSDOWN | Prot.PROT_GROWSUP);
        if (grows == (Prot.PROT_GROWSDOWN | Prot.PROT_GROWSUP))
        {
            return Errno.EINVAL.Ret();
        }
        if ((start & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        if ((prot & ~(Prot.PROT_READ | Prot.PROT_WRITE | Prot.PROT_EXEC | Prot.PROT_SEM)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        len = PageAlign(len);
        long end = start + len;
        if (end < start)
        {
            return Errno.ENOMEM.Ret();
        }
        if (len == 0)
        {
            return 0;
        }
        var vma = Vmas.FindVma(start);
        if (vma is null)
        {
            return Errno.ENOMEM.Ret();
        }
        if (grows == Prot.PROT_GROWSDOWN)
        {
            if (vma.VmStart >= end)
            {
                return Errno.ENOMEM.Ret();
            }
            if (!vma.Has(VmFlags.VM_GROWSDOWN))
            {
                return Errno.EINVAL.Ret();
            }
            start = vma.VmStart;
        }
        else if (vma.VmStart > start)
        {
            return Errno.ENOMEM.Ret();
        }
        else if (grows == Prot.PROT_GROWSUP)
        {
            return Errno.EINVAL.Ret(); // no VM_GROWSUP areas on x86
        }
        var newBits = ProtBits(prot);
        long result = 0;
        for (long nstart = start; ;)
        {
            // VM_MAY* shifted into place: the new permissions must be ones the area may have.
            var may = (VmFlags)((uint)(vma.VmFlagsValue & (VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC)) >> 4);
            if ((newBits & ~may) != 0)
            {
                result = Errno.EACCES.Ret();
                break;
            }
            long tmp = Math.Min(vma.VmEnd, end);
            var inside = SplitRange(nstart, tmp);
            if (inside is null)
            {
                result = Errno.ENOMEM.Ret();
                break;
            }
            foreach (var v in inside)
            {
                // mprotect_fixup: a private area made writable for the first time is accounted.
                if ((newBits & VmFlags.VM_WRITE) != 0 && !v.Has(VmFlags.VM_ACCOUNT | VmFlags.VM_WRITE | VmFlags.VM_SHARED))
                {
                    if (VmEnoughMemory(v.Pages) < 0)
                    {
                        MergeAround(start, end);
                        return Errno.ENOMEM.Ret();
                    }
                    v.VmFlagsValue |= VmFlags.VM_ACCOUNT;
                }
                v.VmFlagsValue = (v.VmFlagsValue & ~(VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_EXEC)) | newBits;
                ChangeProtection(v, newBits);
            }
            nstart = tmp;
            if (nstart >= end)
            {
                break;
            }
            vma = Vmas.FindVma(nstart);
            if (vma is null || vma.VmStart != nstart)
            {
                result = Errno.ENOMEM.Ret();
                break;
            }
        }
        MergeAround(start, end);
        return result;
    }

    /// <summary>
    /// change_pte_range with the area's new vm_page_prot: PROT_NONE makes pages inaccessible; a
    /// private area never gains write access (the next write breaks COW); a shared writable area
    /// of a file without dirty accounting (tmpfs: no write-notify) is writable at once.
    /// </summary>
    private void ChangeProtection(Vma v, VmFlags bits)
    {
        bool sharedWritable = v.Has(VmFlags.VM_SHARED) && (bits & VmFlags.VM_WRITE) != 0
            && v.File is { } f && !f.Inode.Mapping.AOps.CapAccountDirty;
        for (long a = v.VmStart; a < v.VmEnd; a += MemoryLayout.PAGE_SIZE)
        {
            ref ulong pte = ref FindPte(a);
            if (Unsafe.IsNullRef(ref pte))
            {
                continue;
            }
            if (!PteMapped(pte))
            {
                continue;
            }
            if ((bits & (VmFlags.VM_READ | VmFlags.VM_WRITE | VmFlags.VM_EXEC)) == 0)
            {
                pte = (pte & ~(Paging._PAGE_PRESENT | Paging._PAGE_RW)) | _PAGE_PROTNONE;
            }
            else
            {
                pte = (pte & ~(_PAGE_PROTNONE | Paging._PAGE_RW)) | Paging._PAGE_PRESENT | (sharedWritable ? Paging._PAGE_RW : 0);
            }
        }
    }
}
