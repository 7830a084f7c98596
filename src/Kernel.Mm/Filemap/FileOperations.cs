// Linux 2.6.20 include/linux/fs.h struct file_operations, the entries the syscalls use so far:
// read, write, mmap, fsync, flush, ioctl and release. sys_read and sys_write call file->f_op->read/write; do_mmap_pgoff calls
// file->f_op->mmap, which chooses the VMA's vm_ops. The generic implementations (mm/filemap.c)
// are in GenericFile; tmpfs overrides read (holes read as zeros without allocating).
using Kernel.Mm.Memory;

namespace Kernel.Mm.Filemap;

public abstract class FileOperations
{
    /// <summary>read: copy up to `count` bytes at f_pos into user memory at `buf`; bytes read or -errno.</summary>
    public abstract long Read(KFile file, MmStruct mm, long buf, long count);

    /// <summary>write: copy up to `count` bytes from user memory at `buf` to f_pos; bytes written or -errno.</summary>
    public abstract long Write(KFile file, MmStruct mm, long buf, long count);

    /// <summary>Whether f_op->mmap exists: do_mmap_pgoff refuses a file without it (-ENODEV) before it builds anything.</summary>
    public virtual bool HasMmap => true;

    /// <summary>mmap: accept the mapping and set its vm_ops. 0 or -errno.</summary>
    public abstract int Mmap(KFile file, Vma vma);

    /// <summary>fsync (datasync: fdatasync): make the file's data durable. 0 or -errno (-EIO: a write-back failed).</summary>
    public virtual ValueTask<long> Fsync(KFile file, bool datasync) => new(0);

    /// <summary>
    /// flush: close(2) of a descriptor calls it before dropping the reference (filp_close), so it
    /// may sleep; `last` when this is the file's last reference.
    /// </summary>
    public virtual ValueTask<long> Flush(KFile file, bool last) => new(0);

    /// <summary>
    /// ioctl (unlocked_ioctl): a device-specific request `cmd` with argument `arg` (often a user
    /// address). 0 or a value, or -errno; -ENOTTY for a file that takes no such request, as
    /// vfs_ioctl answers for a file without the op.
    /// </summary>
    public virtual ValueTask<long> Ioctl(KFile file, MmStruct mm, uint cmd, long arg) => new(-(long)Kernel.Core.Errno.ENOTTY);

    /// <summary>release: the last reference to an open file went (__fput).</summary>
    public virtual void Release(KFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        file.Inode.OpenFiles--;
    }
}
