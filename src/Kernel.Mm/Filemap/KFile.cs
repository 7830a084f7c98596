// Linux 2.6.20 include/linux/fs.h struct file: an open file's access mode and position, shared by
// descriptors and mappings through f_count; OpenFlags holds the open(2) flag values.
namespace Kernel.Mm.Filemap;

/// <summary>struct file: an open file with its mode and position.</summary>
public sealed class KFile
{
    internal KFile(Inode inode, int flags)
    {
        Inode = inode;
        Flags = flags;
        // file_ra_state_init: the window's maximum is the backing device's at open time.
        Ra = new FileRaState(inode.Mapping?.BackingDevInfo?.RaPages ?? BackingDevInfo.VM_MAX_READAHEAD_PAGES);
    }

    /// <summary>
    /// dentry_open for a file system's inode: a new open file (f_count 1) that counts as one of
    /// the inode's open files until its last fput.
    /// </summary>
    public static KFile Open(Inode inode, int flags)
    {
        ArgumentNullException.ThrowIfNull(inode);
        inode.OpenFiles++;
        return new KFile(inode, flags);
    }

    /// <summary>
    /// A private file over `file`'s inode with its flags and position `pos`, for pread and pwrite:
    /// the generic code moves the copy's position, never the shared f_pos. It holds no reference.
    /// </summary>
    public static KFile Shadow(KFile file, long pos)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new KFile(file.Inode, file.Flags) { Pos = pos, Ra = file.Ra };
    }

    public Inode Inode { get; }

    /// <summary>f_op (the inode's).</summary>
    public FileOperations FOps => Inode.FOps;

    /// <summary>O_ACCMODE and friends.</summary>
    public int Flags { get; private set; }

    /// <summary>The flags fcntl(F_SETFL) may change.</summary>
    public const int SetflMask = OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK;

    /// <summary>fcntl(F_SETFL): replace O_APPEND and O_NONBLOCK; the access mode stays.</summary>
    public void SetStatusFlags(int flags) => Flags = (Flags & ~SetflMask) | (flags & SetflMask);

    /// <summary>f_pos.</summary>
    public long Pos { get; set; }

    /// <summary>f_ra: the read-ahead state, shared with the shadows pread makes.</summary>
    public FileRaState Ra { get; private init; }

    /// <summary>f_count: file descriptors and mappings sharing this open file.</summary>
    public int Count { get; private set; } = 1;

    /// <summary>get_file: one more descriptor or mapping shares this file.</summary>
    public void Get() => Count++;

    /// <summary>fput: drop a reference; the last one releases the file through its f_op.</summary>
    public void Fput()
    {
        if (Count <= 0)
        {
            throw new Kernel.Core.KernelBug($"fput of a released file ({Inode.Name})");
        }
        if (--Count == 0)
        {
            FOps.Release(this);
        }
    }

    public bool CanRead => (Flags & OpenFlags.O_ACCMODE) != OpenFlags.O_WRONLY;

    public bool CanWrite => (Flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY;
}

public static class OpenFlags
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_ACCMODE = 3;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    /// <summary>O_SYNC (010000 on i386): every write is written through before it returns.</summary>
    public const int O_SYNC = 0x1000;
    /// <summary>O_DIRECT (040000 on i386): I/O between the device and the program's pages, bypassing the page cache.</summary>
    public const int O_DIRECT = 0x4000;
    public const int O_LARGEFILE = 0x8000;
}
