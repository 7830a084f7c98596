// Linux 2.6.20 block/ioctl.c blkdev_ioctl and blkdev_locked_ioctl: the generic block device
// requests. Sizes (BLKGETSIZE in sectors as an unsigned long, BLKGETSIZE64 in bytes), the sector
// and soft block sizes, max_sectors, the read-only flag (BLKROSET: later writes fail with EPERM, as
// generic_write_checks does), the read-ahead window in sectors, and BLKFLSBUF (write back and drop
// the clean cached pages). Setting needs CAP_SYS_ADMIN (euid 0 here): EACCES otherwise. A user
// address that is not mapped is EFAULT; a request this layer does not know goes to the driver,
// which has none: ENOTTY (BLKRRPART and HDIO_GETGEO among them: no partitions or geometry are
// modelled).
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Arch;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Block;

public sealed partial class BlockDevFileOperations
{
    public override async ValueTask<long> Ioctl(KFile file, MmStruct mm, uint cmd, long arg)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(mm);
        var bdev = BdevOf(file);
        var q = bdev.Queue;
        var arch = mm.Memory.Arch;
        bool capable = _block.Machine.ThisCpu.Curr.Euid == 0;
        switch (cmd)
        {
            case BlockIoctl.BLKFLSBUF:
                if (!capable)
                {
                    return Errno.EACCES.Ret();
                }
                await WriteBackAndWait(bdev, 0, long.MaxValue); // fsync_bdev
                InvalidateCleanPages(bdev, 0, long.MaxValue); // invalidate_bdev
                return 0;
            case BlockIoctl.BLKROSET:
                if (!capable)
                {
                    return Errno.EACCES.Ret();
                }
                if (Uaccess.GetUser(mm, arg, out int ro) < 0)
                {
                    return Errno.EFAULT.Ret();
                }
                bdev.Disk.ReadOnly = ro != 0; // set_device_ro
                return 0;
            case BlockIoctl.BLKROGET:
                return Uaccess.PutUser(mm, arg, bdev.Disk.ReadOnly ? 1 : 0);
            case BlockIoctl.BLKRAGET:
            case BlockIoctl.BLKFRAGET:
                return PutLong(mm, arg, (long)q.BackingDevInfo.RaPages * MemoryLayout.PAGE_SIZE / 512, arch);
            case BlockIoctl.BLKRASET:
            case BlockIoctl.BLKFRASET:
                if (!capable)
                {
                    return Errno.EACCES.Ret();
                }
                q.BackingDevInfo.RaPages = (int)Math.Clamp(arg * 512 / MemoryLayout.PAGE_SIZE, 0, int.MaxValue);
                return 0;
            case BlockIoctl.BLKSSZGET:
                return Uaccess.PutUser(mm, arg, q.HardsectSize);
            case BlockIoctl.BLKSECTGET:
                return Uaccess.PutUser(mm, arg, (ushort)q.MaxSectors);
            case BlockIoctl.BLKGETSIZE:
                long sectors = bdev.Inode.Size >> Bio.SECTOR_SHIFT;
                if (BlockIoctl.LongSize(arch) == 4 && sectors > uint.MaxValue)
                {
                    return Errno.EFBIG.Ret();
                }
                return PutLong(mm, arg, sectors, arch);
        }
        if (cmd == BlockIoctl.BLKGETSIZE64(arch))
        {
            return Uaccess.PutUser(mm, arg, (ulong)bdev.Inode.Size);
        }
        if (cmd == BlockIoctl.BLKBSZGET(arch))
        {
            return Uaccess.PutUser(mm, arg, bdev.BlockSize);
        }
        if (cmd == BlockIoctl.BLKBSZSET(arch))
        {
            if (!capable)
            {
                return Errno.EACCES.Ret();
            }
            if (arg == 0)
            {
                return Errno.EINVAL.Ret();
            }
            if (Uaccess.GetUser(mm, arg, out int n) < 0)
            {
                return Errno.EFAULT.Ret();
            }
            return await SetBlocksize(bdev, n);
        }
        return Errno.ENOTTY.Ret(); // blkdev_driver_ioctl: the driver has no ioctl of its own
    }

    /// <summary>put_long / put_ulong: an unsigned long of the architecture's size.</summary>
    private static long PutLong(MmStruct mm, long addr, long value, Architecture arch) =>
        BlockIoctl.LongSize(arch) == 4 ? Uaccess.PutUser(mm, addr, (uint)value) : Uaccess.PutUser(mm, addr, value);

    /// <summary>set_blocksize: a power of two from the sector size to a page; the cache is written back and dropped when it changes.</summary>
    private async ValueTask<long> SetBlocksize(BlockDevice bdev, int size)
    {
        if (size > MemoryLayout.PAGE_SIZE || size < 512 || (size & (size - 1)) != 0 || size < bdev.Queue.HardsectSize)
        {
            return Errno.EINVAL.Ret();
        }
        if (bdev.BlockSize != size)
        {
            await WriteBackAndWait(bdev, 0, long.MaxValue); // sync_blockdev
            bdev.BlockSize = size;
            InvalidateCleanPages(bdev, 0, long.MaxValue); // kill_bdev
        }
        return 0;
    }
}
