// Linux 2.6.20 include/linux/fs.h struct address_space_operations: how a file system moves the
// pages of one address_space between the page cache and its backing store. The generic page
// cache code (GenericFile, and reclaim and writeback later) calls only these, so a block-device
// file, ext2 or swap plugs in without the memory code knowing it.
namespace Kernel.Mm.Filemap;

public abstract class AddressSpaceOperations
{
    /// <summary>writepage asked the caller to keep the page on the active list (AOP_WRITEPAGE_ACTIVATE).</summary>
    public const int AOP_WRITEPAGE_ACTIVATE = 0x80000;

    /// <summary>The a_ops' name, for diagnostics ("shmem_aops").</summary>
    public abstract string Name { get; }

    /// <summary>
    /// mapping_cap_account_dirty (a property of the backing device in Linux): whether shared
    /// writable mappings are write-protected so the first write is noticed (vma_wants_writenotify).
    /// </summary>
    public virtual bool CapAccountDirty => true;

    /// <summary>Whether ReadPage reads from a device (so read-ahead has work); false for memory-backed files, whose a_ops have no readpage in Linux.</summary>
    public virtual bool ReadsFromBackingStore => true;

    /// <summary>
    /// readpage: start filling the new, not-uptodate cache page `pfn` (already in `mapping` at its
    /// index, and locked) from the backing store. When the read completes the file system marks
    /// the page PG_uptodate (unless the read failed) and unlocks it (PageWaitTable.UnlockPage),
    /// which wakes the tasks waiting for it: at once for a synchronous store, from the I/O
    /// completion for a device. 0 when the read was started, or -errno (the page is unlocked).
    /// </summary>
    public abstract int ReadPage(MemorySubsystem mem, AddressSpace mapping, int pfn);

    /// <summary>
    /// writepage: start writing the dirty page `pfn` back (its PG_dirty already cleared). 0, -errno,
    /// or AOP_WRITEPAGE_ACTIVATE when the page cannot be written now and must stay in memory.
    /// </summary>
    public abstract int WritePage(MemorySubsystem mem, AddressSpace mapping, int pfn);

    /// <summary>
    /// The file's page at `index` as the generic read and write loops look it up: the cached pfn,
    /// -1 when the file has no page there (a hole, or not read yet), or -errno. tmpfs brings a
    /// page back from swap here (shmem_getpage); when that must wait for the read it records the
    /// wait and returns -EIOCBRETRY.
    /// </summary>
    public virtual int LookupPage(MemorySubsystem mem, AddressSpace mapping, long index)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return mapping.FindPage(index);
    }

    /// <summary>
    /// sync_page: a task is about to wait for the locked page `pfn`; a block device unplugs its
    /// queue so the I/O the page waits for starts now (block_sync_page -> blk_run_backing_dev).
    /// </summary>
    public virtual void SyncPage(MemorySubsystem mem, AddressSpace mapping, int pfn)
    {
    }

    /// <summary>set_page_dirty (__set_page_dirty_nobuffers): mark the page dirty; true if it was clean.</summary>
    public virtual bool SetPageDirty(MemorySubsystem mem, AddressSpace mapping, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ref var page = ref mem.PageAt(pfn);
        bool wasClean = !page.Test(PageFlag.PG_dirty);
        page.Set(PageFlag.PG_dirty);
        if (wasClean)
        {
            mem.Writeback.AccountPageDirtied(mapping, pfn); // NR_FILE_DIRTY, the dirty tag, the inode's dirtied_when
        }
        return wasClean;
    }

    /// <summary>
    /// prepare_write: make bytes [fromByte, toByte) of the cache page ready to be overwritten; a page that
    /// is not uptodate must have the rest of its bytes read or zeroed. 0 or -errno.
    /// </summary>
    public abstract int PrepareWrite(MemorySubsystem mem, KFile file, int pfn, int fromByte, int toByte);

    /// <summary>
    /// commit_write (generic_commit_write): the bytes are in the page; dirty it and extend i_size
    /// to `pos` if the write went past the end. 0 or -errno.
    /// </summary>
    public virtual int CommitWrite(MemorySubsystem mem, KFile file, int pfn, long pos)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentNullException.ThrowIfNull(file);
        var inode = file.Inode;
        ref var page = ref mem.PageAt(pfn);
        page.Set(PageFlag.PG_uptodate);
        SetPageDirty(mem, inode.Mapping, pfn);
        if (pos > inode.Size)
        {
            inode.Size = pos;
        }
        return 0;
    }
}
