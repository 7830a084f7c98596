// Linux 2.6.20 include/linux/mm.h struct vm_operations_struct: what a file mapping does when it is
// faulted or populated. do_no_page calls vma->vm_ops->nopage; MAP_POPULATE and
// remap_file_pages call ->populate. The file's mmap (FileOperations.Mmap) sets them.
using Kernel.Core;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Filemap;

public abstract class VmOperations
{
    /// <summary>nopage's "the page is beyond the end of the file" (NOPAGE_SIGBUS).</summary>
    public const int NOPAGE_SIGBUS = -1;

    /// <summary>nopage's "no memory for the page" (NOPAGE_OOM).</summary>
    public const int NOPAGE_OOM = -2;

    /// <summary>
    /// nopage would sleep (the page is locked for I/O, or its allocation needs reclaim) and has
    /// recorded the wait in the caller's synchronous section: the fault sleeps and runs again.
    /// The role 2.6.20's in-place sleep plays; later kernels return VM_FAULT_RETRY.
    /// </summary>
    public const int NOPAGE_RETRY = -3;

    /// <summary>The vm_ops' name, for diagnostics ("shmem_vm_ops").</summary>
    public abstract string Name { get; }

    /// <summary>
    /// nopage: the page backing `address` of `vma`, with a reference the caller owns
    /// (page_cache_get), or NOPAGE_SIGBUS / NOPAGE_OOM / NOPAGE_RETRY. `major` tells whether I/O
    /// was needed (also with NOPAGE_RETRY, when the fault waits for a read).
    /// </summary>
    public abstract int Nopage(Vma vma, long address, out bool major);

    /// <summary>
    /// populate: map the file pages of [addr, addr+len) ahead of use (install_page), as
    /// MAP_POPULATE and remap_file_pages ask. 0 or -errno. Null in Linux means "not supported".
    /// </summary>
    public virtual int Populate(Vma vma, long addr, long len, bool nonblock) => (int)Errno.ENOSYS.Ret();
}
