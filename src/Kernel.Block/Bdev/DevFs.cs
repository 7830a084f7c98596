// /dev: the device nodes of the attached disks (what udev makes on a 2.6.20 system), mounted by the
// kernel at /dev when the first disk is attached. Opening /dev/sda gives a file over the disk's
// block_device inode (blkdev_open): read-write unless the disk's store is read-only (then a write
// open is EROFS). Nodes are neither created nor removed through it (EEXIST for O_CREAT|O_EXCL,
// EPERM for unlink); a missing name is ENOENT.
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Block;

public sealed class DevFs : IFileSystem
{
    private readonly BlockLayer _block;

    public DevFs(BlockLayer block)
    {
        ArgumentNullException.ThrowIfNull(block);
        _block = block;
    }

    public string Name => "devfs";

    /// <summary>The node names, sorted.</summary>
    public IReadOnlyList<string> Nodes => _block.Disks.Select(d => d.Name).Order(StringComparer.Ordinal).ToList();

    public (KFile? File, long Error) Open(string path, int flags)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = path.TrimStart('/');
        if (_block.Find(name) is not { } disk)
        {
            return (null, (flags & OpenFlags.O_CREAT) != 0 ? Errno.EACCES.Ret() : Errno.ENOENT.Ret());
        }
        if ((flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) == (OpenFlags.O_CREAT | OpenFlags.O_EXCL))
        {
            return (null, Errno.EEXIST.Ret());
        }
        var bdev = _block.BdevOf(disk);
        bool wantsWrite = (flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY;
        if (wantsWrite && _block.DriverOf(disk).Store.IsReadOnly)
        {
            return (null, Errno.EROFS.Ret());
        }
        bdev.Openers++;
        return (KFile.Open(bdev.Inode, flags), 0);
    }

    public long Unlink(string path) => Errno.EPERM.Ret();
}
