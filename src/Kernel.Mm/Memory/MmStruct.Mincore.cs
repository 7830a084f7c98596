// Linux 2.6.20 mm/mincore.c: which pages of a range are resident.
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
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
}
