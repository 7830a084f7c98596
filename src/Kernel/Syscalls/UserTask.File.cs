// File syscalls on the tmpfs namespace (think /dev/shm): open, close, read, write, lseek,
// ftruncate, unlink. read and write copy between the page cache and the task's own memory,
// through its page tables (so they fault like any access; EFAULT for a bad buffer).
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Shmem;
using Kernel.Process;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    public const int SEEK_SET = 0;
    public const int SEEK_CUR = 1;
    public const int SEEK_END = 2;

    private FilesStruct Files => ProcessState.Of(Task).Files ?? throw new InvalidOperationException($"{Task} has no file table.");

    private KFile? Fd(int fd) => Files.Get(fd);

    /// <summary>open(path, flags): a tmpfs file descriptor, or -errno.</summary>
    public ValueTask<long> Open(string path, int flags)
    {
        Enter();
        ArgumentNullException.ThrowIfNull(path);
        var (file, err) = _k.Mm.Shmem.Open(path, flags);
        if (file is null)
        {
            return Return(err);
        }
        int fd = Files.Install(file);
        if (fd < 0)
        {
            _k.Mm.Shmem.Release(file);
            return Return(Errno.EMFILE.Ret());
        }
        return Return(fd);
    }

    public ValueTask<long> Close(int fd)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        Files.Fds[fd] = null;
        _k.Mm.Shmem.Release(f);
        return Return(0);
    }

    public ValueTask<long> Unlink(string path)
    {
        Enter();
        ArgumentNullException.ThrowIfNull(path);
        return Return(_k.Mm.Shmem.Unlink(path));
    }

    public ValueTask<long> Ftruncate(int fd, long length)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (length < 0 || !f.CanWrite)
        {
            return Return(Errno.EINVAL.Ret());
        }
        _k.Mm.Shmem.Truncate(f.Inode, length);
        return Return(0);
    }

    public ValueTask<long> Lseek(int fd, long offset, int whence)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        long pos = whence switch
        {
            SEEK_SET => offset,
            SEEK_CUR => f.Pos + offset,
            SEEK_END => f.Inode.Size + offset,
            _ => -1,
        };
        if (pos < 0)
        {
            return Return(Errno.EINVAL.Ret());
        }
        f.Pos = pos;
        return Return(pos);
    }

    /// <summary>read(fd, buf, count): from the page cache into the task's memory at `buf`.</summary>
    public async ValueTask<long> Read(int fd, long buf, long count)
    {
        Enter();
        var f = Fd(fd);
        if (f is null || !f.CanRead)
        {
            return await Return(Errno.EBADF.Ret());
        }
        if (count < 0)
        {
            return await Return(Errno.EINVAL.Ret());
        }
        long n = Math.Max(0, Math.Min(count, f.Inode.Size - f.Pos));
        long done = 0;
        while (done < n)
        {
            // Page to page: each step stays inside one cache page and one user page.
            long pos = f.Pos + done;
            int fileOff = (int)(pos & (MemoryLayout.PAGE_SIZE - 1));
            int userOff = (int)((buf + done) & (MemoryLayout.PAGE_SIZE - 1));
            int len = (int)Math.Min(n - done, MemoryLayout.PAGE_SIZE - Math.Max(fileOff, userOff));
            int userPfn = await Access(buf + done, write: true);
            int pfn = _k.Mm.Shmem.GetPage(f.Inode, pos >> MemoryLayout.PAGE_SHIFT, allocate: false);
            var dest = _k.Mm.WritePage(userPfn).Slice(userOff, len);
            if (pfn < 0)
            {
                dest.Clear(); // a hole reads as zeros
            }
            else
            {
                _k.Mm.ReadPage(pfn).Slice(fileOff, len).CopyTo(dest);
            }
            done += len;
        }
        f.Pos += done;
        return await Return(done);
    }

    /// <summary>write(fd, buf, count): from the task's memory at `buf` into the page cache.</summary>
    public async ValueTask<long> Write(int fd, long buf, long count)
    {
        Enter();
        var f = Fd(fd);
        if (f is null || !f.CanWrite)
        {
            return await Return(Errno.EBADF.Ret());
        }
        if (count < 0)
        {
            return await Return(Errno.EINVAL.Ret());
        }
        if ((f.Flags & OpenFlags.O_APPEND) != 0)
        {
            f.Pos = f.Inode.Size;
        }
        long done = 0;
        while (done < count)
        {
            long pos = f.Pos + done;
            int fileOff = (int)(pos & (MemoryLayout.PAGE_SIZE - 1));
            int userOff = (int)((buf + done) & (MemoryLayout.PAGE_SIZE - 1));
            int len = (int)Math.Min(count - done, MemoryLayout.PAGE_SIZE - Math.Max(fileOff, userOff));
            int userPfn = await Access(buf + done, write: false);
            int pfn = _k.Mm.Shmem.GetPage(f.Inode, pos >> MemoryLayout.PAGE_SHIFT, allocate: true);
            if (pfn < 0)
            {
                break;
            }
            // Span.CopyTo is overlap-safe, so a buffer mapped from this very page copies correctly.
            _k.Mm.ReadPage(userPfn).Slice(userOff, len).CopyTo(_k.Mm.WritePage(pfn).Slice(fileOff, len));
            _k.Mm.PageAt(pfn).Set(PageFlag.PG_dirty);
            done += len;
            f.Inode.Size = Math.Max(f.Inode.Size, pos + len);
        }
        f.Pos += done;
        return await Return(done > 0 || count == 0 ? done : Errno.ENOSPC.Ret());
    }
}
