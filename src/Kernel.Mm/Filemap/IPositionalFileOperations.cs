// pread(2) and pwrite(2) for files whose operations sleep (a block device): I/O at a given position
// that leaves f_pos alone, as vfs_read and vfs_write do with the syscall's own position.
using Kernel.Mm.Memory;

namespace Kernel.Mm.Filemap;

public interface IPositionalFileOperations
{
    /// <summary>pread: bytes read at `pos`, 0 at the end, or -errno.</summary>
    ValueTask<long> ReadAt(KFile file, MmStruct mm, long buf, long count, long pos);

    /// <summary>pwrite: bytes written at `pos`, or -errno.</summary>
    ValueTask<long> WriteAt(KFile file, MmStruct mm, long buf, long count, long pos);
}
