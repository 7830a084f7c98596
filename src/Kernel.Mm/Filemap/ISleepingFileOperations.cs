// f_op->read and ->write for files whose operations sleep on their own wait queues (pipes, and
// later sockets and character devices) rather than only in the memory code's synchronous
// sections: sys_read and sys_write await these when the file's operations implement them.
using Kernel.Mm.Memory;

namespace Kernel.Mm.Filemap;

public interface ISleepingFileOperations
{
    /// <summary>read that may sleep: bytes read, 0 at end of file, or -errno (-ERESTARTSYS when a signal broke the sleep).</summary>
    ValueTask<long> ReadSleeping(KFile file, MmStruct mm, long buf, long count);

    /// <summary>write that may sleep: bytes written or -errno (-ERESTARTSYS when a signal broke the sleep).</summary>
    ValueTask<long> WriteSleeping(KFile file, MmStruct mm, long buf, long count);
}
