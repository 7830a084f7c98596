// Linux 2.6.20 mm/msync.c: the flags and their checks (tmpfs pages have no backing store to write).
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public static class MsFlags
{
    public const int MS_ASYNC = 1;
    public const int MS_INVALIDATE = 2;
    public const int MS_SYNC = 4;
}

public sealed partial class MmStruct
{
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
}
