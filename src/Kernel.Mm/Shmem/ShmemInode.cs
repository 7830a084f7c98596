// A tmpfs inode (struct inode with shmem_inode_info folded in): the size, the page cache and the
// link and open counts that decide when an unlinked file's pages may go.
namespace Kernel.Mm.Shmem;

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
