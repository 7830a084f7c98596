// File syscalls: open, close, read, write, lseek, ftruncate, unlink, pread, pwrite, fsync and
// ioctl. A path reaches the file system mounted at its longest matching prefix
// (LinuxKernel.Mounts; tmpfs at "/"). As in fs/read_write.c, sys_read and sys_write check their
// arguments and call the file's f_op; the copies go through copy_to_user/copy_from_user
// (Kernel.Mm.Arch.Uaccess), so a bad buffer gives -EFAULT, not a signal.
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Arch;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    public const int SEEK_SET = 0;
    public const int SEEK_CUR = 1;
    public const int SEEK_END = 2;

    private FilesStruct Files => ProcessState.Of(TaskStruct).Files ?? throw new InvalidOperationException($"{TaskStruct} has no file table.");

    private KFile? Fd(int fd) => Files.Get(fd);

    /// <summary>open(path, flags): a file descriptor, or -errno.</summary>
    public ValueTask<long> Open(string path, int flags)
    {
        Enter();
        ArgumentNullException.ThrowIfNull(path);
        if (_k.Mounts.Lookup(path, out var fs, out var rest) is var bad and < 0)
        {
            return Return(bad);
        }
        var (file, err) = fs.Open(rest, flags);
        if (file is null)
        {
            return Return(err);
        }
        int fd = Files.Install(file);
        if (fd < 0)
        {
            file.Fput();
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
        // filp_close: f_op->flush may sleep (a block device's last close writes its pages back).
        var flush = f.FOps.Flush(f, last: f.Count == 1);
        if (!flush.IsCompletedSuccessfully)
        {
            return CloseSlow(f, flush);
        }
        f.Fput();
        return Return(0);
    }

    private async ValueTask<long> CloseSlow(KFile f, ValueTask<long> flush)
    {
        await flush;
        f.Fput();
        return await Return(0);
    }

    /// <summary>pread(fd, buf, count, offset): read at `offset` without moving f_pos. -ESPIPE on a pipe, -EINVAL for a negative offset.</summary>
    public ValueTask<long> Pread(int fd, long buf, long count, long offset) => PositionalIo(fd, buf, count, offset, write: false);

    /// <summary>pwrite(fd, buf, count, offset): write at `offset` without moving f_pos (O_APPEND is ignored, as 2.6.20 does for a device).</summary>
    public ValueTask<long> Pwrite(int fd, long buf, long count, long offset) => PositionalIo(fd, buf, count, offset, write: true);

    private ValueTask<long> PositionalIo(int fd, long buf, long count, long offset, bool write)
    {
        Enter();
        var f = Fd(fd);
        if (f is null || (write ? !f.CanWrite : !f.CanRead))
        {
            return Return(Errno.EBADF.Ret());
        }
        if (f.Inode is Kernel.Fs.PipeInode)
        {
            return Return(Errno.ESPIPE.Ret());
        }
        if (count < 0 || offset < 0)
        {
            return Return(Errno.EINVAL.Ret());
        }
        var mm = MmOrThrow();
        if (f.FOps is IPositionalFileOperations p)
        {
            var io = write ? p.WriteAt(f, mm, buf, count, offset) : p.ReadAt(f, mm, buf, count, offset);
            return io.IsCompletedSuccessfully ? Return(io.Result) : AwaitReturn(io);
        }
        // A file whose operations do not sleep: the generic code on a private position.
        var view = KFile.Shadow(f, offset);
        return FileIo(view, buf, count, write);
    }

    private async ValueTask<long> AwaitReturn(ValueTask<long> io)
    {
        long r = await io;
        return await Return(r);
    }

    /// <summary>fsync(fd): the file's data and metadata reach the device. -EIO if a write-back failed; -EINVAL for a pipe.</summary>
    public ValueTask<long> Fsync(int fd) => SyncFile(fd, datasync: false);

    /// <summary>fdatasync(fd): the file's data reach the device.</summary>
    public ValueTask<long> Fdatasync(int fd) => SyncFile(fd, datasync: true);

    private ValueTask<long> SyncFile(int fd, bool datasync)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (f.Inode is Kernel.Fs.PipeInode)
        {
            return Return(Errno.EINVAL.Ret()); // no f_op->fsync
        }
        var io = f.FOps.Fsync(f, datasync);
        return io.IsCompletedSuccessfully ? Return(io.Result) : AwaitReturn(io);
    }

    /// <summary>
    /// ioctl(fd, cmd, arg): the file's own request (`arg` a value or a user address, as `cmd`
    /// says). -EBADF for a bad descriptor, -ENOTTY for a file that takes no such request
    /// (a tmpfs file, a pipe; a block device answers the BLK* requests, Kernel.Block.BlockIoctl).
    /// </summary>
    public ValueTask<long> Ioctl(int fd, uint cmd, long arg)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        var io = f.FOps.Ioctl(f, MmOrThrow(), cmd, arg);
        return io.IsCompletedSuccessfully ? Return(io.Result) : AwaitReturn(io);
    }

    public ValueTask<long> Unlink(string path)
    {
        Enter();
        ArgumentNullException.ThrowIfNull(path);
        if (_k.Mounts.Lookup(path, out var fs, out var rest) is var bad and < 0)
        {
            return Return(bad);
        }
        return Return(fs.Unlink(rest));
    }

    public ValueTask<long> Ftruncate(int fd, long length)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (length < 0 || !f.CanWrite || f.Inode is Kernel.Fs.PipeInode)
        {
            return Return(Errno.EINVAL.Ret());
        }
        if (length > f.Inode.MaxBytes)
        {
            return Return(Errno.EFBIG.Ret()); // vmtruncate: beyond s_maxbytes
        }
        return Return(f.Inode.Truncate(length));
    }

    /// <summary>
    /// readahead(fd, offset, count): start reading the file's pages covering [offset, offset +
    /// count) into the page cache (no more than half the inactive and free memory) and return 0
    /// without waiting. -EBADF for a bad or write-only descriptor, -EINVAL for a file whose pages
    /// are not read from a device (a tmpfs file, a pipe).
    /// </summary>
    public ValueTask<long> Readahead(int fd, long offset, long count)
    {
        Enter();
        var f = Fd(fd);
        if (f is null || !f.CanRead)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (f.Inode is Kernel.Fs.PipeInode || f.Inode.Mapping is null)
        {
            return Return(Errno.EINVAL.Ret());
        }
        long start = offset >> MemoryLayout.PAGE_SHIFT;
        long len = count <= 0 || offset < 0 ? 0 : ((offset + count - 1) >> MemoryLayout.PAGE_SHIFT) - start + 1;
        long r = global::Kernel.Mm.Filemap.Readahead.ForcePageCacheReadahead(_k.Memory, f.Inode.Mapping, start, global::Kernel.Mm.Filemap.Readahead.MaxSaneReadahead(_k.Memory, len));
        return Return(r < 0 ? r : 0);
    }

    /// <summary>The open file at `fd` (fcheck), for a harness to inspect (its position, its read-ahead state); null if none.</summary>
    public KFile? FileAt(int fd) => Fd(fd);

    public ValueTask<long> Lseek(int fd, long offset, int whence)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (f.Inode is Kernel.Fs.PipeInode)
        {
            return Return(Errno.ESPIPE.Ret()); // no_llseek
        }
        // generic_file_llseek: the new position must lie in [0, s_maxbytes]; overflow is EINVAL too.
        long pos = whence switch
        {
            SEEK_SET => offset,
            SEEK_CUR => f.Pos > 0 && offset > long.MaxValue - f.Pos ? -1 : f.Pos + offset,
            SEEK_END => f.Inode.Size > 0 && offset > long.MaxValue - f.Inode.Size ? -1 : f.Inode.Size + offset,
            _ => -1,
        };
        if (pos < 0 || pos > f.Inode.MaxBytes)
        {
            return Return(Errno.EINVAL.Ret());
        }
        f.Pos = pos;
        return Return(pos);
    }

    /// <summary>read(fd, buf, count): f_op->read into the task's memory at `buf`; -EFAULT for a bad buffer.</summary>
    public ValueTask<long> Read(int fd, long buf, long count)
    {
        Enter();
        var f = Fd(fd);
        if (f is null || !f.CanRead)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (count < 0)
        {
            return Return(Errno.EINVAL.Ret());
        }
        return f.FOps is ISleepingFileOperations s ? SleepingIo(s, f, buf, count, write: false) : FileIo(f, buf, count, write: false);
    }

    /// <summary>write(fd, buf, count): f_op->write from the task's memory at `buf`; -EFAULT for a bad buffer.</summary>
    public ValueTask<long> Write(int fd, long buf, long count)
    {
        Enter();
        var f = Fd(fd);
        if (f is null || !f.CanWrite)
        {
            return Return(Errno.EBADF.Ret());
        }
        if (count < 0)
        {
            return Return(Errno.EINVAL.Ret());
        }
        return f.FOps is ISleepingFileOperations s ? SleepingIo(s, f, buf, count, write: true) : FileIo(f, buf, count, write: true);
    }

    /// <summary>
    /// f_op->read or ->write of a file that sleeps on its own queue (a pipe). -ERESTARTSYS (a
    /// signal broke the sleep with nothing done) restarts the call after the signal, unless a
    /// handler ran: then it is -EINTR.
    /// </summary>
    private ValueTask<long> SleepingIo(ISleepingFileOperations s, KFile f, long buf, long count, bool write)
    {
        var mm = MmOrThrow();
        var ps = ProcessState.Of(TaskStruct);
        ps.HandlerRan = false;
        var io = StartIo(s, f, mm, buf, count, write);
        // A call that did not sleep returns from here, without an async frame.
        if (!io.IsCompletedSuccessfully)
        {
            return SleepingIoSlow(s, f, mm, ps, buf, count, write, io);
        }
        long r = io.Result;
        return r != Errno.ERESTARTSYS.Ret() ? Return(r) : SleepingIoSlow(s, f, mm, ps, buf, count, write, new ValueTask<long>(r));
    }

    private static ValueTask<long> StartIo(ISleepingFileOperations s, KFile f, MmStruct mm, long buf, long count, bool write) =>
        write ? s.WriteSleeping(f, mm, buf, count) : s.ReadSleeping(f, mm, buf, count);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> SleepingIoSlow(ISleepingFileOperations s, KFile f, MmStruct mm, ProcessState ps, long buf, long count, bool write, ValueTask<long> io)
    {
        while (true)
        {
            long r = await io;
            if (r != Errno.ERESTARTSYS.Ret())
            {
                return await Return(r);
            }
            await Return(r);
            if (ps.HandlerRan)
            {
                return Errno.EINTR.Ret();
            }
            ps.HandlerRan = false;
            io = StartIo(s, f, mm, buf, count, write);
        }
    }

    /// <summary>pipe(fildes): a pipe's read end at fildes[0], its write end at fildes[1]. -EMFILE, -EFAULT.</summary>
    public ValueTask<long> Pipe(long fildes)
    {
        Enter();
        var mm = MmOrThrow();
        var (rd, wr) = _k.Pipes.Create();
        int fd0 = Files.Install(rd);
        int fd1 = fd0 < 0 ? -1 : Files.Install(wr);
        if (fd1 < 0)
        {
            if (fd0 >= 0)
            {
                Files.Fds[fd0] = null;
            }
            rd.Fput();
            wr.Fput();
            return Return(Errno.EMFILE.Ret());
        }
        if (Uaccess.PutUser(mm, fildes, fd0) < 0 || Uaccess.PutUser(mm, fildes + 4, fd1) < 0)
        {
            Files.Fds[fd0] = null;
            Files.Fds[fd1] = null;
            rd.Fput();
            wr.Fput();
            return Return(Errno.EFAULT.Ret());
        }
        return Return(0);
    }

    public const int F_GETFL = 3;
    public const int F_SETFL = 4;

    /// <summary>fcntl(fd, F_GETFL) and fcntl(fd, F_SETFL, flags) (O_APPEND, O_NONBLOCK); -EINVAL for another command.</summary>
    public ValueTask<long> Fcntl(int fd, int cmd, int arg = 0)
    {
        Enter();
        var f = Fd(fd);
        if (f is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        switch (cmd)
        {
            case F_GETFL:
                return Return(f.Flags);
            case F_SETFL:
                f.SetStatusFlags(arg);
                return Return(0);
            default:
                return Return(Errno.EINVAL.Ret());
        }
    }

    /// <summary>
    /// f_op->read or ->write in a synchronous section. When the loop stopped where Linux sleeps
    /// (a page under read I/O, direct reclaim, a fault on a contended mmap_sem), the slow path
    /// sleeps and carries on from f_pos for the bytes not yet done, so the caller sees one call.
    /// </summary>
    private ValueTask<long> FileIo(KFile f, long buf, long count, bool write)
    {
        var mm = MmOrThrow();
        var mem = _k.Memory;
        mem.BeginSync();
        long r = write ? f.FOps.Write(f, mm, buf, count) : f.FOps.Read(f, mm, buf, count);
        var w = mem.EndSync();
        return w.IsNone ? Return(r) : FileIoSlow(f, mm, buf, count, write, r, w);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> FileIoSlow(KFile f, MmStruct mm, long buf, long count, bool write, long r, MmWait w)
    {
        var mem = _k.Memory;
        long done = 0;
        // A stop ends the loop at once, so r is the bytes before it or the stop's own error.
        while (!w.IsNone)
        {
            done += Math.Max(r, 0);
            bool mayDefer = await mem.SleepFor(w);
            mem.BeginSync(mayDefer);
            r = write ? f.FOps.Write(f, mm, buf + done, count - done) : f.FOps.Read(f, mm, buf + done, count - done);
            w = mem.EndSync();
        }
        done += Math.Max(r, 0);
        return await Return(done > 0 ? done : r);
    }
}
