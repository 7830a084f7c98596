// Linux 2.6.20 fs/block_dev.c def_blk_aops over fs/buffer.c (block_read_full_page,
// block_write_full_page, block_prepare_write, block_sync_page), with one bio per page instead of
// buffer heads: readpage reads the page's sectors and unlocks it from the bio's end_io (uptodate,
// or PG_error on a failure); writepage marks it PG_writeback and writes it; sync_page unplugs the
// queue for a task about to wait on the page. The last page of a device whose size is not a
// multiple of the page size is read and written only up to the end.
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;

namespace Kernel.Block;

public sealed class BlockDevAddressSpaceOperations : AddressSpaceOperations
{
    private readonly BlockLayer _block;
    private BlockDevice? _bdev;

    internal BlockDevAddressSpaceOperations(BlockLayer block) => _block = block;

    internal BlockDevice Bdev
    {
        get => _bdev!;
        set => _bdev = value;
    }

    public override string Name => "def_blk_aops";

    /// <summary>Bytes of page `index` that lie on the device.</summary>
    private int BytesOnDevice(long index) => (int)Math.Clamp(Bdev.Disk.CapacityBytes - (index << MemoryLayout.PAGE_SHIFT), 0, MemoryLayout.PAGE_SIZE);

    /// <summary>block_read_full_page: read the page's blocks; the end_io marks it and unlocks it.</summary>
    public override int ReadPage(MemorySubsystem mem, AddressSpace mapping, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mem);
        long index = mem.PageAt(pfn).Index;
        int bytes = BytesOnDevice(index);
        if (bytes == 0)
        {
            // Past the end: a hole of zeros (block_read_full_page zeroes unmapped blocks).
            mem.PageAt(pfn).Set(PageFlag.PG_uptodate);
            mem.PageWait.UnlockPage(pfn);
            return 0;
        }
        var bio = _block.FsBioSet.Alloc(Gfp.GFP_NOIO, 1);
        if (bio is null)
        {
            mem.PageWait.UnlockPage(pfn);
            return (int)Errno.ENOMEM.Ret();
        }
        bio.Sector = index << (MemoryLayout.PAGE_SHIFT - Bio.SECTOR_SHIFT);
        bio.AddPage(pfn, bytes, 0);
        bio.Private = this;
        bio.OnEndIo = ReadEndIo;
        Bdev.PagesRead++;
        Bdev.Queue.SubmitBioNoWait(BioRw.READ, bio);
        return 0;
    }

    private void ReadEndIo(Bio bio, int bytesDone, int error)
    {
        if (bio.Size != 0)
        {
            return;
        }
        var mem = _block.Memory;
        int pfn = bio.IoVec[0].Pfn;
        ref var page = ref mem.PageAt(pfn);
        if (bio.Uptodate)
        {
            page.Set(PageFlag.PG_uptodate);
        }
        else
        {
            page.Clear(PageFlag.PG_uptodate);
            page.Set(PageFlag.PG_error);
        }
        mem.PageWait.UnlockPage(pfn);
        bio.Put();
    }

    /// <summary>block_write_full_page: write the page's blocks; PG_writeback until the end_io.</summary>
    public override int WritePage(MemorySubsystem mem, AddressSpace mapping, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ref var page = ref mem.PageAt(pfn);
        int bytes = BytesOnDevice(page.Index);
        if (bytes == 0)
        {
            return 0;
        }
        var bio = _block.FsBioSet.Alloc(Gfp.GFP_NOIO, 1);
        if (bio is null)
        {
            SetPageDirty(mem, mapping, pfn); // redirty_page_for_writepage: try again later
            return AOP_WRITEPAGE_ACTIVATE;
        }
        mem.SetPageWriteback(pfn);
        bio.Sector = page.Index << (MemoryLayout.PAGE_SHIFT - Bio.SECTOR_SHIFT);
        bio.AddPage(pfn, bytes, 0);
        bio.OnEndIo = WriteEndIo;
        Bdev.WritebackInFlight++;
        Bdev.PagesWritten++;
        Bdev.Queue.SubmitBioNoWait(BioRw.WRITE, bio);
        return 0;
    }

    private void WriteEndIo(Bio bio, int bytesDone, int error)
    {
        if (bio.Size != 0)
        {
            return;
        }
        var mem = _block.Memory;
        int pfn = bio.IoVec[0].Pfn;
        ref var page = ref mem.PageAt(pfn);
        if (!bio.Uptodate)
        {
            // end_buffer_async_write: the error stays with the mapping for fsync (AS_EIO).
            page.Set(PageFlag.PG_error);
            Bdev.WriteError = true;
        }
        mem.EndPageWriteback(pfn); // end_page_writeback (a page reclaim wrote goes to the inactive tail)
        Bdev.WritebackInFlight--;
        Bdev.WritebackWait.WakeUp(Kernel.Core.Tasks.TaskState.TASK_UNINTERRUPTIBLE, 0);
        bio.Put();
    }

    /// <summary>block_sync_page: unplug the device.</summary>
    public override void SyncPage(MemorySubsystem mem, AddressSpace mapping, int pfn) => Bdev.Queue.Unplug();

    /// <summary>
    /// block_prepare_write: a page written only in part must hold the device's bytes first. If it
    /// is not uptodate, its read is started (or is already in flight) and the write waits for it
    /// (-EIOCBRETRY from the synchronous section; the caller sleeps on the page and writes again).
    /// </summary>
    public override int PrepareWrite(MemorySubsystem mem, KFile file, int pfn, int fromByte, int toByte)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ref var page = ref mem.PageAt(pfn);
        if (page.Test(PageFlag.PG_uptodate) || (fromByte == 0 && toByte >= BytesOnDevice(page.Index)))
        {
            return 0;
        }
        if (page.Test(PageFlag.PG_error) && !page.Test(PageFlag.PG_locked))
        {
            page.Clear(PageFlag.PG_error);
            return (int)Errno.EIO.Ret(); // the read this write needed failed
        }
        if (mem.PageWait.TryLockPage(pfn))
        {
            int err = ReadPage(mem, file.Inode.Mapping, pfn);
            if (err < 0)
            {
                return err;
            }
        }
        return mem.DeferWait(new MmWait(MmWaitKind.PageLocked, Pfn: pfn)) ? (int)Errno.EIOCBRETRY.Ret() : (int)Errno.EIO.Ret();
    }
}
