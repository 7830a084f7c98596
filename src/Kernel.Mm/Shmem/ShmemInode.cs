// A tmpfs inode: struct inode with shmem_inode_info folded in. Its file operations, a_ops and
// vm_ops are tmpfs's (ShmemOperations.cs); its pages live in the page cache or, under memory
// pressure, in swap (its swap vector names their entries).
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Shmem;

/// <summary>A tmpfs inode: its size, its page cache and the references that keep it alive.</summary>
public sealed class ShmemInode : Inode
{
    internal ShmemInode(long ino, string name, Tmpfs fs)
        : base(ino, name, fs.FileOps)
    {
        Fs = fs;
    }

    /// <summary>The tmpfs instance the inode belongs to.</summary>
    public Tmpfs Fs { get; }

    /// <summary>Pages charged to vm_committed_space for the whole file (shared anonymous memory).</summary>
    public long AccountedPages { get; internal set; }

    /// <summary>The swap vector (i_direct and the indirect pages in Linux): the swap entry of each page that is in swap, by index.</summary>
    public Dictionary<long, uint> SwapEntries { get; } = new();

    /// <summary>tmpfs's s_maxbytes (SHMEM_MAX_BYTES).</summary>
    public override long MaxBytes => Fs.MaxBytes;

    /// <summary>shmem_setattr / shmem_truncate.</summary>
    public override long Truncate(long size)
    {
        Fs.Truncate(this, size);
        return 0;
    }
}
