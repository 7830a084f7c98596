// Linux 2.6.20 mm/mincore.c: which pages of a range are in the page cache. 2.6.20 answers only for
// file-backed areas (shared anonymous memory is a shmem file, so it counts): a page is resident
// when its file's cache holds it uptodate, whether or not this mapping maps it (a private COW
// copy is not looked at). An anonymous area is -ENOMEM ("we don't do any anonymous mappings"),
// as is a hole; later kernels walk the page tables instead.
using Kernel.Core;

namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    /// <summary>mincore: one byte per page, 1 when the file page is in the page cache.</summary>
    public long Mincore(long start, long len, Span<byte> vec)
    {
        if ((start & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        // access_ok: the range must lie in user space.
        if ((ulong)len > (ulong)Paging.TaskSize || (ulong)start > (ulong)(Paging.TaskSize - len))
        {
            return Errno.ENOMEM.Ret();
        }
        long pages = (len >> MemoryLayout.PAGE_SHIFT) + ((len & (MemoryLayout.PAGE_SIZE - 1)) != 0 ? 1 : 0);
        if (vec.Length < pages)
        {
            return Errno.EFAULT.Ret();
        }
        long addr = start;
        int done = 0;
        while (done < pages)
        {
            // do_mincore for the area at addr: vec is filled as far as the failure, as Linux copies
            // each chunk out before it looks at the next area.
            var vma = Vmas.FindVma(addr);
            if (vma is null || addr < vma.VmStart || vma.File is null)
            {
                return Errno.ENOMEM.Ret();
            }
            long nr = Math.Min((vma.VmEnd - addr) >> MemoryLayout.PAGE_SHIFT, pages - done);
            var mapping = vma.File.Inode.Mapping;
            long pgoff = vma.LinearPageIndex(addr);
            for (long i = 0; i < nr; i++)
            {
                int pfn = mapping.FindPage(pgoff + i);
                vec[done + (int)i] = (byte)(pfn >= 0 && _mem.PageAt(pfn).Test(PageFlag.PG_uptodate) ? 1 : 0);
            }
            done += (int)nr;
            addr += nr << MemoryLayout.PAGE_SHIFT;
        }
        return 0;
    }
}
