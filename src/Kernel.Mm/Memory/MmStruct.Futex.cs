// Linux 2.6.20 kernel/futex.c get_futex_key, the part that reads the address space: a futex word
// is named by what it is, not by where it is mapped. In a private mapping the key is (mm, page
// address, offset); in a shared mapping (a file, or shared anonymous memory, which is a shmem
// file) it is (the file's address_space, page index, offset), so two processes that map the same
// page at different addresses meet on one key. The word must be 4-byte aligned and mapped.
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Memory;

/// <summary>
/// union futex_key: `Target` is the MmStruct (private) or the AddressSpace (shared); `Word` the
/// page address or the page index; `Offset` the byte offset in the page.
/// </summary>
public readonly record struct FutexKey(object Target, long Word, int Offset)
{
    public bool IsShared => Target is AddressSpace;

    public override string ToString() => IsShared ? $"shared:{((AddressSpace)Target).Host.Name}:{Word}+{Offset}" : $"private:{Word:x}+{Offset}";
}

public sealed partial class MmStruct
{
    /// <summary>
    /// get_futex_key: the key of the futex word at `uaddr`. -EINVAL when it is not 4-byte
    /// aligned, -EFAULT when no area maps it; `fshared` false asks for a private key whatever
    /// the mapping (FUTEX_PRIVATE_FLAG).
    /// </summary>
    public long GetFutexKey(long uaddr, bool fshared, out FutexKey key)
    {
        key = default;
        if ((uaddr & 3) != 0)
        {
            return Errno.EINVAL.Ret();
        }
        if ((ulong)uaddr >= (ulong)Paging.TaskSize)
        {
            return Errno.EFAULT.Ret();
        }
        long pageAddr = uaddr & ~(MemoryLayout.PAGE_SIZE - 1L);
        int offset = (int)(uaddr & (MemoryLayout.PAGE_SIZE - 1));
        if (!fshared)
        {
            key = new FutexKey(this, pageAddr, offset);
            return 0;
        }
        var vma = Vmas.FindVma(uaddr);
        if (vma is null || vma.VmStart > uaddr)
        {
            return Errno.EFAULT.Ret();
        }
        if (vma.Has(VmFlags.VM_MAYSHARE) && vma.File is { } file)
        {
            key = new FutexKey(file.Inode.Mapping, vma.LinearPageIndex(uaddr), offset);
        }
        else
        {
            key = new FutexKey(this, pageAddr, offset);
        }
        return 0;
    }
}
