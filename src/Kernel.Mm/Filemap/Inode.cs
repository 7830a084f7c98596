// Linux 2.6.20 include/linux/fs.h struct inode, the part the memory code needs: the size, the
// page cache (i_mapping), the file operations, and the link and open counts that decide when an
// unlinked file's pages may go. A file system derives its own inode (tmpfs: ShmemInode).
using Kernel.Core;

namespace Kernel.Mm.Filemap;

public abstract class Inode
{
    protected Inode(long ino, string name, FileOperations fops)
    {
        ArgumentNullException.ThrowIfNull(fops);
        Ino = ino;
        Name = name;
        FOps = fops;
    }

    public long Ino { get; }

    /// <summary>The name it was created under ("/dev/zero (deleted)" for shared anonymous memory).</summary>
    public string Name { get; internal set; }

    /// <summary>i_fop: what read, write and mmap do on this inode's open files.</summary>
    public FileOperations FOps { get; }

    /// <summary>i_mapping: the page cache (the file system makes it with MemorySubsystem.NewAddressSpace).</summary>
    public AddressSpace Mapping { get; protected internal set; } = null!;

    /// <summary>i_size in bytes.</summary>
    public long Size { get; protected internal set; }

    /// <summary>Pages covering i_size (a fault at or past this index is SIGBUS).</summary>
    public long SizeInPages => (Size + MemoryLayout.PAGE_SIZE - 1) >> MemoryLayout.PAGE_SHIFT;

    /// <summary>Directory entries naming it (0 once unlinked).</summary>
    public int NLink { get; protected internal set; }

    /// <summary>Open files (struct file) referring to it, including those held by mappings.</summary>
    public int OpenFiles { get; internal set; }

    public bool Unlinked => NLink == 0;

    /// <summary>
    /// The super block's s_maxbytes: the largest file size the file system allows (truncate beyond
    /// it is -EFBIG, lseek beyond it -EINVAL, writes stop at it).
    /// </summary>
    public virtual long MaxBytes => long.MaxValue;

    /// <summary>
    /// do_truncate's notify_change (i_op->setattr with ATTR_SIZE): set i_size and drop the pages
    /// beyond it. 0 or -errno; a file system that cannot change sizes refuses with -EPERM.
    /// </summary>
    public virtual long Truncate(long size) => Errno.EPERM.Ret();
}
