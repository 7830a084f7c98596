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
