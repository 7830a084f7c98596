// Linux 2.6.20 fs/block_dev.c def_blk_fops: read and write of /dev/DEV. Buffered I/O goes through
// the device's page cache (generic_file_read / generic_file_write over def_blk_aops); with
// O_DIRECT it goes straight between the program's pages and the device (blkdev_direct_IO over
// fs/direct-io.c), after the cached range was written back, and a direct write drops the clean
// cached pages it made stale. fsync writes back every dirty page and waits (block_fsync ->
// sync_blockdev) and reports a failed write once; the last close writes back too (blkdev_put).
// Writes stop at the device's end with ENOSPC; O_DIRECT needs offsets, buffers and lengths
// aligned to the sector size (EINVAL otherwise).
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm;
using Kernel.Mm.Arch;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Block;

public sealed partial class BlockDevFileOperations : FileOperations, ISleepingFileOperations, IPositionalFileOperations
{
    private readonly BlockLayer _block;

    internal BlockDevFileOperations(BlockLayer block) => _block = block;

    private static BlockDevice BdevOf(KFile file) => ((BlockDevInode)file.Inode).Bdev;

    public override long Read(KFile file, MmStruct mm, long buf, long count) => GenericFile.Read(file, mm, buf, count);

    public override long Write(KFile file, MmStruct mm, long buf, long count)
    {
        ArgumentNullException.ThrowIfNull(file);
        long size = file.Inode.Size;
        if (file.Pos >= size)
        {
            return count == 0 ? 0 : Errno.ENOSPC.Ret(); // generic_write_checks for a block device
        }
        return GenericFile.Write(file, mm, buf, Math.Min(count, size - file.Pos));
    }

    public override int Mmap(KFile file, Vma vma) => GenericFile.Mmap(file, vma);

    public ValueTask<long> ReadSleeping(KFile file, MmStruct mm, long buf, long count) => Io(file, mm, buf, count, write: false);

    public ValueTask<long> WriteSleeping(KFile file, MmStruct mm, long buf, long count) => Io(file, mm, buf, count, write: true);

    /// <summary>pread: at `pos`, leaving f_pos alone.</summary>
    public async ValueTask<long> ReadAt(KFile file, MmStruct mm, long buf, long count, long pos) => await AtPos(file, mm, buf, count, pos, write: false);

    /// <summary>pwrite: at `pos`, leaving f_pos alone.</summary>
    public async ValueTask<long> WriteAt(KFile file, MmStruct mm, long buf, long count, long pos) => await AtPos(file, mm, buf, count, pos, write: true);

    private async ValueTask<long> AtPos(KFile file, MmStruct mm, long buf, long count, long pos, bool write)
    {
        // The generic code reads and moves f_pos; a private file over the same inode keeps the
        // caller's f_pos out of it (vfs_read with a local position).
        var view = KFile.Shadow(file, pos);
        return await Io(view, mm, buf, count, write);
    }

    private ValueTask<long> Io(KFile file, MmStruct mm, long buf, long count, bool write)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(mm);
        if (write && BdevOf(file).Disk.ReadOnly)
        {
            return new ValueTask<long>(Errno.EPERM.Ret()); // generic_write_checks: bdev_read_only
        }
        if ((file.Flags & OpenFlags.O_DIRECT) != 0)
        {
            return DirectIo(file, mm, buf, count, write);
        }
        var mem = mm.Memory;
        mem.BeginSync();
        long r = write ? Write(file, mm, buf, count) : Read(file, mm, buf, count);
        var w = mem.EndSync();
        if (w.IsNone && !(write && (file.Flags & OpenFlags.O_SYNC) != 0 && r > 0))
        {
            return new ValueTask<long>(r);
        }
        return BufferedSlow(file, mm, buf, count, write, r, w);
    }

    /// <summary>The buffered loop's slow path: sleep for what stopped it (a page under read) and carry on; O_SYNC writes through.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> BufferedSlow(KFile file, MmStruct mm, long buf, long count, bool write, long r, MmWait w)
    {
        var mem = mm.Memory;
        long start = file.Pos - Math.Max(r, 0);
        long done = 0;
        while (!w.IsNone)
        {
            done += Math.Max(r, 0);
            bool mayDefer = await mem.SleepFor(w);
            mem.BeginSync(mayDefer);
            r = write ? Write(file, mm, buf + done, count - done) : Read(file, mm, buf + done, count - done);
            w = mem.EndSync();
        }
        done += Math.Max(r, 0);
        if (write && done > 0 && (file.Flags & OpenFlags.O_SYNC) != 0)
        {
            // generic_osync_inode: the bytes are on the device before write returns.
            long err = await WriteBackAndWait(BdevOf(file), start >> MemoryLayout.PAGE_SHIFT, (start + done - 1) >> MemoryLayout.PAGE_SHIFT);
            if (err < 0)
            {
                return err;
            }
        }
        return done > 0 ? done : r;
    }

    /// <summary>fsync and fdatasync (block_fsync: sync_blockdev): write back every dirty page and wait; -EIO once after a failed write.</summary>
    public override async ValueTask<long> Fsync(KFile file, bool datasync)
    {
        ArgumentNullException.ThrowIfNull(file);
        return await WriteBackAndWait(BdevOf(file), 0, long.MaxValue);
    }

    /// <summary>The last close of the device writes its dirty pages back (blkdev_put's sync_blockdev).</summary>
    public override async ValueTask<long> Flush(KFile file, bool last)
    {
        ArgumentNullException.ThrowIfNull(file);
        var bdev = BdevOf(file);
        if (last && bdev.Openers == 1)
        {
            await WriteBackAndWait(bdev, 0, long.MaxValue);
        }
        return 0;
    }

    public override void Release(KFile file)
    {
        base.Release(file);
        BdevOf(file).Openers--;
    }

    /// <summary>
    /// filemap_write_and_wait_range: start writepage on every dirty page with index in
    /// [first, last], in index order, unplug, and wait until the device's page writes are done.
    /// Returns -EIO (and clears the mapping's error) if a write-back failed.
    /// </summary>
    internal async ValueTask<long> WriteBackAndWait(BlockDevice bdev, long first, long last)
    {
        var mem = _block.Memory;
        var mapping = bdev.Mapping;
        // WB_SYNC_ALL: a page whose writepage could not start (no bio free now: it is redirtied)
        // is tried again after the writes in flight end, until every page of the range is clean.
        while (true)
        {
            List<(long Index, int Pfn)>? pages = null;
            foreach (var (index, pfn) in mapping.PageTree)
            {
                ref var page = ref mem.PageAt(pfn);
                if (index >= first && index <= last && (page.Test(PageFlag.PG_dirty) || page.Test(PageFlag.PG_writeback)))
                {
                    (pages ??= new()).Add((index, pfn));
                }
            }
            if (pages is null)
            {
                break;
            }
            pages.Sort((a, b) => a.Index.CompareTo(b.Index));
            // pagevec_lookup_tag takes a reference on each page: held while we wait, so reclaim
            // cannot free one and hand its frame to another device's page under writeback (we
            // would then wait on the wrong queue for ever).
            foreach (var (_, pfn) in pages)
            {
                mem.PageAt(pfn).Count++;
            }
            int started = 0, deferred = 0;
            foreach (var (_, pfn) in pages)
            {
                ref var page = ref mem.PageAt(pfn);
                if (page.Test(PageFlag.PG_writeback) || !page.Test(PageFlag.PG_dirty))
                {
                    continue; // already on its way: waited for below
                }
                if (!mem.Writeback.ClearPageDirtyForIo(mapping, pfn))
                {
                    continue;
                }
                if (mapping.AOps.WritePage(mem, mapping, pfn) == AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE)
                {
                    deferred++;
                }
                else
                {
                    started++;
                }
            }
            await WaitOnWriteback(bdev, pages);
            foreach (var (_, pfn) in pages)
            {
                mem.PutPage(pfn);
            }
            if (deferred == 0)
            {
                break;
            }
            if (started == 0)
            {
                await mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, _block.Machine.Hz.Value / 50)); // nothing in flight to wait for: nap
            }
        }
        if (bdev.WriteError)
        {
            bdev.WriteError = false;
            return Errno.EIO.Ret();
        }
        return 0;
    }

    /// <summary>wait_on_page_writeback for each page: sleep until none of them is under writeback.</summary>
    private async ValueTask WaitOnWriteback(BlockDevice bdev, List<(long Index, int Pfn)> pages)
    {
        var m = _block.Machine;
        var mem = _block.Memory;
        bool Busy()
        {
            foreach (var (_, pfn) in pages)
            {
                if (mem.PageAt(pfn).Test(PageFlag.PG_writeback))
                {
                    return true;
                }
            }
            return false;
        }
        if (!Busy())
        {
            return;
        }
        bdev.Queue.Unplug();
        while (true)
        {
            bdev.WritebackWait.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE);
            if (!Busy())
            {
                break;
            }
            await m.IoScheduleTimeout(ScheduleTimeoutOps.MAX_SCHEDULE_TIMEOUT);
        }
        bdev.WritebackWait.FinishWait(m);
    }

    /// <summary>One direct I/O call's bios in flight and their outcome (struct dio).</summary>
    private sealed class Dio
    {
        public int Pending;
        public bool Failed;
        public Kernel.Core.Locking.WaitQueueHead Wait = null!;
    }

    /// <summary>
    /// blkdev_direct_IO: bios over the program's own pages, at most max_sectors each. Any failed
    /// bio fails the call with -EIO (dio->io_error). -EINVAL for a misaligned offset, buffer or
    /// length; -EFAULT for a buffer that is not mapped (the bios already built are still waited for).
    /// </summary>
    private async ValueTask<long> DirectIo(KFile file, MmStruct mm, long buf, long count, bool write)
    {
        var bdev = BdevOf(file);
        var q = bdev.Queue;
        var m = _block.Machine;
        long pos = file.Pos;
        long mask = q.HardsectSize - 1;
        if (((pos | buf | count) & mask) != 0 || count < 0)
        {
            return Errno.EINVAL.Ret();
        }
        long size = file.Inode.Size;
        if (pos >= size)
        {
            return write && count > 0 ? Errno.ENOSPC.Ret() : 0;
        }
        count = Math.Min(count, size - pos);
        if (count == 0)
        {
            return 0;
        }
        long firstIndex = pos >> MemoryLayout.PAGE_SHIFT, lastIndex = (pos + count - 1) >> MemoryLayout.PAGE_SHIFT;
        await WriteBackAndWait(bdev, firstIndex, lastIndex);
        var dio = new Dio { Wait = bdev.WritebackWait };
        Bio.EndIoFn endIo = (b, _, _) =>
        {
            if (b.Size != 0)
            {
                return;
            }
            if (!b.Uptodate)
            {
                dio.Failed = true;
            }
            dio.Pending--;
            b.Put();
            dio.Wait.WakeUp(TaskState.TASK_UNINTERRUPTIBLE, 0);
        };
        long done = 0;
        long error = 0;
        Bio? bio = null;
        while (done < count)
        {
            long addr = buf + done;
            int off = (int)(addr & (MemoryLayout.PAGE_SIZE - 1));
            int len = (int)Math.Min(MemoryLayout.PAGE_SIZE - off, count - done);
            // get_user_pages: a read writes into the program's pages.
            int pfn = await UserPage(mm, addr, forWrite: !write);
            if (pfn < 0)
            {
                error = pfn;
                break;
            }
            if (bio is null)
            {
                long pagesLeft = (count - done + MemoryLayout.PAGE_SIZE - 1) / MemoryLayout.PAGE_SIZE + 1;
                bio = await _block.FsBioSet.AllocAsync(Gfp.GFP_KERNEL, (int)Math.Min(pagesLeft, Bio.BIO_MAX_PAGES));
                bio!.Sector = (pos + done) >> Bio.SECTOR_SHIFT;
                bio.OnEndIo = endIo;
            }
            if (q.BioAddPage(bio, pfn, len, off) == 0)
            {
                await SubmitDio(q, bio, write, dio);
                bio = null;
                continue;
            }
            done += len;
        }
        if (bio is not null)
        {
            if (bio.Size > 0)
            {
                await SubmitDio(q, bio, write, dio);
            }
            else
            {
                bio.Put();
            }
        }
        if (dio.Pending > 0)
        {
            q.Unplug();
            while (true)
            {
                dio.Wait.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE);
                if (dio.Pending == 0)
                {
                    break;
                }
                await m.IoScheduleTimeout(ScheduleTimeoutOps.MAX_SCHEDULE_TIMEOUT);
            }
            dio.Wait.FinishWait(m);
        }
        if (write && done > 0)
        {
            InvalidateCleanPages(bdev, firstIndex, lastIndex);
        }
        if (dio.Failed)
        {
            return Errno.EIO.Ret();
        }
        if (done == 0)
        {
            return error;
        }
        file.Pos = pos + done;
        return done;
    }

    private static ValueTask SubmitDio(RequestQueue q, Bio bio, bool write, Dio dio)
    {
        dio.Pending++;
        return q.SubmitBio(write ? BioRw.WRITE | BioRw.BIO_RW_SYNC : BioRw.READ, bio);
    }

    /// <summary>The frame behind a user address, faulting it in (sleeping if the fault must).</summary>
    private static async ValueTask<int> UserPage(MmStruct mm, long addr, bool forWrite)
    {
        var mem = mm.Memory;
        bool mayDefer = true;
        while (true)
        {
            mem.BeginSync(mayDefer);
            int pfn = Uaccess.UserPage(mm, addr, forWrite);
            var w = mem.EndSync();
            if (w.IsNone)
            {
                return pfn;
            }
            mayDefer = await mem.SleepFor(w);
        }
    }

    /// <summary>invalidate_inode_pages2_range after a direct write: clean, idle, unmapped cached pages go.</summary>
    private void InvalidateCleanPages(BlockDevice bdev, long first, long last)
    {
        var mem = _block.Memory;
        var mapping = bdev.Mapping;
        List<(long, int)>? stale = null;
        foreach (var (index, pfn) in mapping.PageTree)
        {
            ref var page = ref mem.PageAt(pfn);
            if (index >= first && index <= last && !page.Test(PageFlag.PG_dirty) && !page.Test(PageFlag.PG_locked)
                && !page.Test(PageFlag.PG_writeback) && page.MapCount < 0)
            {
                (stale ??= new()).Add((index, pfn));
            }
        }
        foreach (var (index, pfn) in stale ?? [])
        {
            GenericFile.RemoveFromPageCache(mem, mapping, index, pfn);
        }
    }
}
