// Linux 2.6.20 include/linux/fs.h struct address_space: the page cache of one inode (a
// dictionary index -> pfn stands in for the radix tree) and i_mmap, the VMAs that map it (a list
// stands in for the prio tree; queries scan it). Pages in the cache carry mapping = this
// space's handle and index = their offset in pages, and the cache holds one reference on each.
using Kernel.Mm.Memory;

namespace Kernel.Mm.Shmem;

public sealed class AddressSpace
{
    internal AddressSpace(int handle, ShmemInode host)
    {
        Handle = handle;
        Host = host;
    }

    /// <summary>The value page->mapping holds for this space's pages (even, non-zero).</summary>
    public int Handle { get; }

    public ShmemInode Host { get; }

    /// <summary>page_tree: offset (pages) -> pfn.</summary>
    public Dictionary<long, int> PageTree { get; } = new();

    public long NrPages => PageTree.Count;

    /// <summary>i_mmap: every VMA mapping this file, shared or private.</summary>
    public List<Vma> IMmap { get; } = new();

    public int FindPage(long index) => PageTree.TryGetValue(index, out int pfn) ? pfn : -1;
}

/// <summary>A tmpfs inode: its size, its page cache and the references that keep it alive.</summary>
public sealed class ShmemInode
{
    internal ShmemInode(long ino, string name)
    {
        Ino = ino;
        Name = name;
    }

    public long Ino { get; }

    /// <summary>The name it was created under ("/dev/zero (deleted)" for shared anonymous memory).</summary>
    public string Name { get; internal set; }

    public AddressSpace Mapping { get; internal set; } = null!;

    /// <summary>i_size in bytes.</summary>
    public long Size { get; internal set; }

    /// <summary>Directory entries naming it (0 once unlinked).</summary>
    public int NLink { get; internal set; }

    /// <summary>Open files (struct file) referring to it, including those held by mappings.</summary>
    public int OpenFiles { get; internal set; }

    public bool Unlinked => NLink == 0;
}

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
