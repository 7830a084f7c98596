// swapon(2) and swapoff(2) (mm/swapfile.c sys_swapon, sys_swapoff 2.6.20): root only (EPERM);
// the path is opened as swapon does (filp_open O_RDWR); a block device's first page is read
// through its page cache and handed to the memory code's checks. A regular file needs a file
// system that can map its blocks (bmap); tmpfs cannot, so a tmpfs file is EINVAL ("swapfile has
// holes"), as it is on Linux.
using Kernel.Block;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    /// <summary>swapon(path, swapflags): 0 or -errno (EPERM, ENOENT, EBUSY, EINVAL).</summary>
    public async ValueTask<long> Swapon(string path, int swapFlags = 0)
    {
        var (file, err) = OpenForSwap(path);
        if (file is null)
        {
            return await Return(err);
        }
        long r;
        if (file.Inode is BlockDevInode bi)
        {
            var (header, rerr) = await bi.Bdev.ReadPageAsync(0);
            r = header is null ? rerr : Mem.Swap.Swapon(path, file.Inode.Mapping, partition: true, header, file.Inode.Size >> MemoryLayout.PAGE_SHIFT, swapFlags,
                new BlockSwapBacking(BlockLayer.Of(Mem), bi.Bdev));
        }
        else
        {
            Mem.Swap.Log.Add("swapon: swapfile has holes");
            r = Errno.EINVAL.Ret();
        }
        file.Fput();
        return await Return(r);
    }

    /// <summary>swapoff(path): 0 or -errno (EPERM, ENOENT, EINVAL for a path that is not swap, ENOMEM when its pages cannot all come back, EINTR on a signal).</summary>
    public async ValueTask<long> Swapoff(string path)
    {
        var (file, err) = OpenForSwap(path);
        if (file is null)
        {
            return await Return(err);
        }
        long r = await Mem.Swap.Swapoff(file.Inode.Mapping);
        file.Fput();
        return await Return(r);
    }

    /// <summary>The common start of both calls: root only, then filp_open(path, O_RDWR | O_LARGEFILE).</summary>
    private (KFile? File, long Error) OpenForSwap(string path)
    {
        var p = Enter();
        ArgumentNullException.ThrowIfNull(path);
        if (!Capable(p))
        {
            return (null, Errno.EPERM.Ret());
        }
        if (_k.Mounts.Lookup(path, out var fs, out var rest) is var bad and < 0)
        {
            return (null, bad);
        }
        var (file, err) = fs.Open(rest, OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE);
        return (file, err);
    }

    private MemorySubsystem Mem => _k.Memory;
}
