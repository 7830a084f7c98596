// struct file for tmpfs: an open file's access mode and position, shared by descriptors and
// mappings through f_count; OpenFlags holds the open(2) flag values.
namespace Kernel.Mm.Shmem;

/// <summary>struct file: an open tmpfs file with its mode and position.</summary>
public sealed class KFile
{
    internal KFile(ShmemInode inode, int flags)
    {
        Inode = inode;
        Flags = flags;
    }

    public ShmemInode Inode { get; }

    /// <summary>O_ACCMODE and friends.</summary>
    public int Flags { get; }

    /// <summary>f_pos.</summary>
    public long Pos { get; set; }

    /// <summary>f_count: file descriptors and mappings sharing this open file.</summary>
    public int Count { get; internal set; } = 1;

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
}
