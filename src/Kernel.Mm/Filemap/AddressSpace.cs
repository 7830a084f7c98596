// Linux 2.6.20 include/linux/fs.h struct address_space: the page cache of one inode (a
// dictionary index -> pfn stands in for the radix tree), i_mmap (the VMAs that map it; a list
// stands in for the prio tree) and a_ops, how its pages are read and written back. Pages in the
// cache carry mapping = this space's handle and index = their offset in pages, and the cache
// holds one reference on each.
using Kernel.Mm.Memory;

namespace Kernel.Mm.Filemap;

public sealed class AddressSpace
{
    internal AddressSpace(int handle, Inode host, AddressSpaceOperations aops)
    {
        Handle = handle;
        Host = host;
        AOps = aops;
    }

    /// <summary>The value page->mapping holds for this space's pages (even, non-zero).</summary>
    public int Handle { get; }

    /// <summary>The inode whose data this is.</summary>
    public Inode Host { get; }

    /// <summary>a_ops: the file system's page I/O.</summary>
    public AddressSpaceOperations AOps { get; }

    /// <summary>backing_dev_info: the device's congestion state (reclaim does not write to a congested queue); null for memory-backed files.</summary>
    public BackingDevInfo? BackingDevInfo { get; set; }

    /// <summary>page_tree: offset (pages) -> pfn.</summary>
    public Dictionary<long, int> PageTree { get; } = new();

    public long NrPages => PageTree.Count;

    /// <summary>i_mmap_lock: guards IMmap (taken by vma_link/unlink, truncation and the rmap walk).</summary>
    public Kernel.Core.Locking.KSpinLock IMmapLock { get; } = new("i_mmap_lock");

    // ---- Guarded by IMmapLock ----
    /// <summary>i_mmap: every VMA mapping this file, shared or private.</summary>
    public List<Vma> IMmap { get; } = new();

    /// <summary>__vma_link_file under i_mmap_lock.</summary>
    internal void LinkVma(Vma v)
    {
        var m = v.Mm.Memory.Machine;
        m.ChargeLock(IMmapLock, m.ThisCpu, 0);
        IMmap.Add(v);
    }

    /// <summary>__remove_shared_vm_struct under i_mmap_lock.</summary>
    internal void UnlinkVma(Vma v)
    {
        var m = v.Mm.Memory.Machine;
        m.ChargeLock(IMmapLock, m.ThisCpu, 0);
        IMmap.Remove(v);
    }

    // ---- Writeback (fs/fs-writeback.c, the inode's dirty state) ----
    /// <summary>PAGECACHE_TAG_DIRTY: the indexes of the dirty pages of an accounted mapping, in order.</summary>
    public SortedSet<long> DirtyIndexes { get; } = new();

    /// <summary>inode->dirtied_when: the jiffies at which the mapping went from clean to dirty (while on the dirty list).</summary>
    public uint DirtiedWhen { get; internal set; }

    /// <summary>Whether the inode is on the super block's dirty list (I_DIRTY_PAGES).</summary>
    public bool OnDirtyList { get; internal set; }

    /// <summary>writeback_index: where the next cyclic write_cache_pages starts.</summary>
    public long WritebackIndex { get; internal set; }

    /// <summary>find_get_page without the reference: the cached pfn at `index`, or -1.</summary>
    public int FindPage(long index) => PageTree.TryGetValue(index, out int pfn) ? pfn : -1;
}
