// Linux 2.6.20 fs/block_dev.c struct block_device and its bd_inode: the device as a file. Its page
// cache (the inode's mapping, over blkdev's a_ops) holds the device's blocks for buffered I/O, so a
// read caches and a write dirties pages that fsync (or the last close) writes back. The inode's
// size is the disk's capacity.
using Kernel.Core.Locking;
using Kernel.Mm;
using Kernel.Mm.Filemap;

namespace Kernel.Block;

public sealed class BlockDevice
{
    internal BlockDevice(Gendisk disk, BlockDevFileOperations fops, BlockDevAddressSpaceOperations aops)
    {
        Disk = disk;
        var mem = disk.Queue.Memory;
        Inode = new BlockDevInode(disk, fops) { Bdev = this };
        Inode.SetMapping(mem.NewAddressSpace(Inode, aops));
        Inode.Mapping.BackingDevInfo = disk.Queue.BackingDevInfo;
        WritebackWait = new WaitQueueHead($"{disk.Name}.writeback");
        // bd_set_size: the largest power of two from the sector size up to a page that divides the size.
        long size = disk.CapacityBytes;
        int bsize = disk.Queue.HardsectSize;
        while (bsize < Kernel.Mm.MemoryLayout.PAGE_SIZE && (size & bsize) == 0)
        {
            bsize <<= 1;
        }
        BlockSize = bsize;
    }

    /// <summary>
    /// read_mapping_page + wait_on_page_locked from kernel code (swapon's header): page `index`
    /// of the device through its page cache, sleeping for the read. The page's bytes, or -errno.
    /// </summary>
    public async ValueTask<(byte[]? Bytes, long Error)> ReadPageAsync(long index)
    {
        var mem = Disk.Queue.Memory;
        bool mayDefer = true;
        while (true)
        {
            mem.BeginSync(mayDefer);
            int pfn = Kernel.Mm.Filemap.GenericFile.ReadCachePage(mem, Mapping, index, out _);
            var w = mem.EndSync();
            if (w.IsNone)
            {
                if (pfn < 0)
                {
                    return (null, pfn);
                }
                mem.MarkPageAccessed(pfn);
                return (mem.ReadPage(pfn).ToArray(), 0);
            }
            mayDefer = await mem.SleepFor(w);
        }
    }

    /// <summary>bd_block_size: the soft block size (BLKBSZGET, BLKBSZSET).</summary>
    public int BlockSize { get; internal set; }

    public Gendisk Disk { get; }

    public RequestQueue Queue => Disk.Queue;

    /// <summary>bd_inode: the inode /dev/DEV opens.</summary>
    public BlockDevInode Inode { get; }

    /// <summary>The device's page cache.</summary>
    public AddressSpace Mapping => Inode.Mapping;

    /// <summary>bd_openers: open files of the device.</summary>
    public int Openers { get; internal set; }

    /// <summary>Page writes started and not yet completed.</summary>
    public int WritebackInFlight { get; internal set; }

    /// <summary>Where fsync waits for the writes it started.</summary>
    internal WaitQueueHead WritebackWait { get; }

    /// <summary>AS_EIO: a write-back failed since the last fsync looked (fsync reports it once and clears it).</summary>
    public bool WriteError { get; internal set; }

    /// <summary>Pages written back and read in through the page cache.</summary>
    public long PagesWritten { get; internal set; }

    public long PagesRead { get; internal set; }

    public override string ToString() => $"/dev/{Disk.Name}";
}

/// <summary>The block device's inode (bd_inode): i_size is the capacity; it cannot be truncated.</summary>
public sealed class BlockDevInode : Inode
{
    internal BlockDevInode(Gendisk disk, FileOperations fops)
        : base(disk.Major << 20 | disk.FirstMinor, $"/dev/{disk.Name}", fops)
    {
        Disk = disk;
        Size = disk.CapacityBytes;
        NLink = 1;
    }

    public Gendisk Disk { get; }

    /// <summary>The block_device it is the inode of.</summary>
    public BlockDevice Bdev { get; internal set; } = null!;

    /// <summary>A device's size is fixed: writes stop at the end (ENOSPC, not EFBIG).</summary>
    public override long MaxBytes => Size;

    internal void SetMapping(AddressSpace mapping) => Mapping = mapping;
}
