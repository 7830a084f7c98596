// Linux 2.6.20 mm/madvise.c: the access-pattern hints (read-ahead reads them), MADV_WILLNEED, which
// reads the range's file pages ahead, and MADV_DONTNEED, which zaps the range.
using System.Runtime.CompilerServices;
using Kernel.Core;

namespace Kernel.Mm.Memory;

public static class Madv
{
    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
}

public sealed partial class MmStruct
{
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
                    // madvise_willneed: read the range's file pages now (for tmpfs, nothing to read).
                    Filemap.Readahead.ForcePageCacheReadahead(Memory, v.File.Inode.Mapping, v.LinearPageIndex(v.VmStart),
                        Filemap.Readahead.MaxSaneReadahead(Memory, (v.VmEnd - v.VmStart) >> MemoryLayout.PAGE_SHIFT));
                    break;
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
}
