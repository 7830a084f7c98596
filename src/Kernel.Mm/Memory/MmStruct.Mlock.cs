// Linux 2.6.20 mm/mlock.c: VM_LOCKED areas within RLIMIT_MEMLOCK, populated when locked.
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
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
