// Linux 2.6.20 fs/pipe.c: a pipe is an inode with a ring of PIPE_BUFFERS (16) one-page buffers,
// counts of readers and writers, and one wait queue for both sides. pipe_read copies out of the
// ring and sleeps while it is empty and a writer exists (end of file once none does);
// pipe_write fills pages (merging a small write into the last one when it fits) and sleeps while
// the ring is full. A write of at most PIPE_BUF (a page) lands in one buffer or waits whole, which
// is what makes it atomic. With no reader left a write gets SIGPIPE and -EPIPE; O_NONBLOCK turns
// each sleep into -EAGAIN. The pages come from the page allocator and go back when both ends close.
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Arch;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Fs;

public sealed class PipeInode : Inode
{
    /// <summary>PIPE_BUFFERS: the ring's size in pages.</summary>
    public const int PIPE_BUFFERS = 16;

    /// <summary>PIPE_BUF: writes up to this size are atomic.</summary>
    public const int PIPE_BUF = MemoryLayout.PAGE_SIZE;

    internal PipeInode(long ino, PipeFileOperations fops)
        : base(ino, $"pipe:[{ino}]", fops)
    {
        Wait = new WaitQueueHead(Name);
    }

    /// <summary>struct pipe_buffer: a page and the bytes of it in use.</summary>
    internal struct PipeBuffer
    {
        public int Pfn;
        public int Offset;
        public int Len;
    }

    internal readonly PipeBuffer[] Bufs = new PipeBuffer[PIPE_BUFFERS];

    /// <summary>nrbufs: buffers holding data, starting at curbuf.</summary>
    public int NrBufs { get; internal set; }

    internal int CurBuf;

    public int Readers { get; internal set; }

    public int Writers { get; internal set; }

    internal int WaitingWriters;

    /// <summary>pipe->wait: readers and writers sleep here.</summary>
    public WaitQueueHead Wait { get; }

    /// <summary>i_mutex: one reader or writer at a time works on the ring (held across its copies, dropped in pipe_wait).</summary>
    internal KMutex Mutex { get; } = new("pipe i_mutex");
}

internal sealed class PipeFileOperations(LinuxKernel k) : FileOperations, ISleepingFileOperations
{
    private long _nextIno = 1;
    private readonly HashSet<PipeInode> _live = new();

    /// <summary>Pipes with an end still open.</summary>
    public int Count => _live.Count;

    private MemorySubsystem Mem => k.Memory;

    private Machine M => k.Machine;

    /// <summary>do_pipe: the inode and its two open files (read end, write end).</summary>
    public (KFile Read, KFile Write) Create()
    {
        var inode = new PipeInode(_nextIno++, this) { Readers = 1, Writers = 1 };
        _live.Add(inode);
        return (KFile.Open(inode, OpenFlags.O_RDONLY), KFile.Open(inode, OpenFlags.O_WRONLY));
    }

    // sys_read and sys_write reach a pipe only through ISleepingFileOperations; the synchronous
    // entries exist for callers that cannot sleep, and there are none.
    public override long Read(KFile file, MmStruct mm, long buf, long count) =>
        throw new KernelBug("pipe read outside sys_read: pipes sleep, use ReadSleeping");

    public override long Write(KFile file, MmStruct mm, long buf, long count) =>
        throw new KernelBug("pipe write outside sys_write: pipes sleep, use WriteSleeping");

    /// <summary>pipefs has no f_op->mmap.</summary>
    public override bool HasMmap => false;

    public override int Mmap(KFile file, Vma vma) => (int)Errno.ENODEV.Ret();

    /// <summary>pipe_read_release / pipe_write_release: one side fewer; wake the other; free the ring when both are gone.</summary>
    public override void Release(KFile file)
    {
        base.Release(file);
        var pipe = (PipeInode)file.Inode;
        if (file.CanRead)
        {
            pipe.Readers--;
        }
        if (file.CanWrite)
        {
            pipe.Writers--;
        }
        if (pipe.Readers == 0 && pipe.Writers == 0)
        {
            for (int i = 0; i < pipe.NrBufs; i++)
            {
                Mem.FreePages(pipe.Bufs[(pipe.CurBuf + i) & (PipeInode.PIPE_BUFFERS - 1)].Pfn, 0);
            }
            pipe.NrBufs = 0;
            _live.Remove(pipe);
            return;
        }
        pipe.Wait.WakeUp(TaskState.TASK_INTERRUPTIBLE, 0);
    }

    /// <summary>Every live pipe: its ring within bounds, each buffer a sane slice of a page, its ends counted.</summary>
    public IEnumerable<string> CheckInvariants()
    {
        foreach (var p in _live)
        {
            if (p.NrBufs is < 0 or > PipeInode.PIPE_BUFFERS || p.Readers < 0 || p.Writers < 0 || p.Readers + p.Writers == 0)
            {
                yield return $"{p.Name}: nrbufs {p.NrBufs}, readers {p.Readers}, writers {p.Writers}";
            }
            for (int i = 0; i < p.NrBufs; i++)
            {
                var b = p.Bufs[(p.CurBuf + i) & (PipeInode.PIPE_BUFFERS - 1)];
                if (b.Len <= 0 || b.Offset < 0 || b.Offset + b.Len > MemoryLayout.PAGE_SIZE || b.Pfn < 0)
                {
                    yield return $"{p.Name}: buffer {i} is offset {b.Offset} len {b.Len} of pfn {b.Pfn}";
                }
            }
        }
    }

    /// <summary>pipe_wait: sleep once on the pipe's queue (the caller re-checks everything after).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PipeWait(PipeInode pipe)
    {
        pipe.Wait.PrepareToWait(M, TaskState.TASK_INTERRUPTIBLE);
        pipe.Mutex.Unlock(M);
        await M.Schedule();
        pipe.Wait.FinishWait(M);
        await pipe.Mutex.Lock(M);
    }

    // Reads and writes take i_mutex and run pipe_read/pipe_write under it. When the lock is free
    // and the call needs no sleep (the common case) all of it completes synchronously, with no
    // async frame beyond PipeRead/PipeWrite's own.
    public ValueTask<long> ReadSleeping(KFile file, MmStruct mm, long buf, long count) => Locked(file, mm, buf, count, write: false);

    public ValueTask<long> WriteSleeping(KFile file, MmStruct mm, long buf, long count) => Locked(file, mm, buf, count, write: true);

    private ValueTask<long> Locked(KFile file, MmStruct mm, long buf, long count, bool write)
    {
        var pipe = (PipeInode)file.Inode;
        var locked = pipe.Mutex.Lock(M);
        if (!locked.IsCompletedSuccessfully)
        {
            return LockThen(pipe, locked, write, file, mm, buf, count);
        }
        locked.GetAwaiter().GetResult();
        return UnderMutex(pipe, Op(pipe, file, mm, buf, count, write));
    }

    private ValueTask<long> Op(PipeInode pipe, KFile file, MmStruct mm, long buf, long count, bool write) =>
        write ? PipeWrite(pipe, file, mm, buf, count) : PipeRead(pipe, file, mm, buf, count);

    /// <summary>The mutex is held: release it when the operation finishes, now if it already has.</summary>
    private ValueTask<long> UnderMutex(PipeInode pipe, ValueTask<long> op)
    {
        if (!op.IsCompletedSuccessfully)
        {
            return UnlockAfter(pipe, op);
        }
        long r = op.Result;
        pipe.Mutex.Unlock(M);
        return new ValueTask<long>(r);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> UnlockAfter(PipeInode pipe, ValueTask<long> op)
    {
        try
        {
            return await op;
        }
        finally
        {
            pipe.Mutex.Unlock(M);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> LockThen(PipeInode pipe, ValueTask locking, bool write, KFile file, MmStruct mm, long buf, long count)
    {
        await locking;
        return await UnlockAfter(pipe, Op(pipe, file, mm, buf, count, write));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> PipeRead(PipeInode pipe, KFile file, MmStruct mm, long buf, long count)
    {
        var p = M.RequireExecuting();
        if (count == 0)
        {
            return 0;
        }
        long ret = 0;
        bool doWakeup = false;
        while (true)
        {
            if (pipe.NrBufs > 0)
            {
                int cur = pipe.CurBuf;
                var b = pipe.Bufs[cur];
                int chars = (int)Math.Min(b.Len, count - ret);
                long left = await CopyOut(mm, buf + ret, b.Pfn, b.Offset, chars);
                if (left == chars)
                {
                    return ret > 0 ? ret : Errno.EFAULT.Ret();
                }
                chars -= (int)left;
                ret += chars;
                b.Offset += chars;
                b.Len -= chars;
                pipe.Bufs[cur] = b;
                if (b.Len == 0)
                {
                    Mem.FreePages(b.Pfn, 0);
                    pipe.CurBuf = (pipe.CurBuf + 1) & (PipeInode.PIPE_BUFFERS - 1);
                    pipe.NrBufs--;
                    doWakeup = true;
                }
                if (ret == count || left > 0)
                {
                    break;
                }
                if (pipe.NrBufs > 0)
                {
                    continue;
                }
            }
            if (pipe.Writers == 0)
            {
                break; // end of file
            }
            if (pipe.WaitingWriters == 0)
            {
                if (ret > 0)
                {
                    break;
                }
                if ((file.Flags & OpenFlags.O_NONBLOCK) != 0)
                {
                    ret = Errno.EAGAIN.Ret();
                    break;
                }
            }
            if (Interrupted(p, ref ret))
            {
                break;
            }
            WakeOtherSide(pipe, ref doWakeup);
            await PipeWait(pipe);
        }
        if (doWakeup)
        {
            pipe.Wait.WakeUp(TaskState.TASK_INTERRUPTIBLE, 0, sync: true);
        }
        return ret;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> PipeWrite(PipeInode pipe, KFile file, MmStruct mm, long buf, long count)
    {
        var p = M.RequireExecuting();
        if (count == 0)
        {
            return 0;
        }
        if (pipe.Readers == 0)
        {
            k.Processes.SendSignalLocked(p, Signals.SIGPIPE);
            return Errno.EPIPE.Ret();
        }
        long ret = 0;
        bool doWakeup = false;
        // Merge a small tail into the last buffer if it fits there (a write of <= PIPE_BUF either fits or takes a fresh page).
        int tail = (int)(count & (MemoryLayout.PAGE_SIZE - 1));
        if (pipe.NrBufs > 0 && tail != 0)
        {
            int lastIdx = (pipe.CurBuf + pipe.NrBufs - 1) & (PipeInode.PIPE_BUFFERS - 1);
            var last = pipe.Bufs[lastIdx];
            int offset = last.Offset + last.Len;
            if (offset + tail <= MemoryLayout.PAGE_SIZE)
            {
                long left = await CopyIn(mm, buf, last.Pfn, offset, tail);
                if (left == tail)
                {
                    return Errno.EFAULT.Ret();
                }
                last.Len += tail - (int)left;
                pipe.Bufs[lastIdx] = last;
                ret = tail - left;
                pipe.Wait.WakeUp(TaskState.TASK_INTERRUPTIBLE, 0, sync: true);
                if (left > 0 || ret == count)
                {
                    return ret;
                }
            }
        }
        while (true)
        {
            if (pipe.Readers == 0)
            {
                k.Processes.SendSignalLocked(p, Signals.SIGPIPE);
                if (ret == 0)
                {
                    ret = Errno.EPIPE.Ret();
                }
                break;
            }
            if (pipe.NrBufs < PipeInode.PIPE_BUFFERS)
            {
                int pfn = await Mem.AllocPagesAsync(Gfp.GFP_HIGHUSER, 0);
                if (pfn < 0)
                {
                    if (ret == 0)
                    {
                        ret = Errno.ENOMEM.Ret();
                    }
                    break;
                }
                // The allocation may have slept: a reader may have emptied or a writer filled the ring meanwhile.
                if (pipe.NrBufs >= PipeInode.PIPE_BUFFERS || pipe.Readers == 0)
                {
                    Mem.FreePages(pfn, 0);
                    continue;
                }
                int chars = (int)Math.Min(MemoryLayout.PAGE_SIZE, count - ret);
                long left = await CopyIn(mm, buf + ret, pfn, 0, chars);
                if (left == chars)
                {
                    Mem.FreePages(pfn, 0);
                    if (ret == 0)
                    {
                        ret = Errno.EFAULT.Ret();
                    }
                    break;
                }
                int slot = (pipe.CurBuf + pipe.NrBufs) & (PipeInode.PIPE_BUFFERS - 1);
                pipe.Bufs[slot] = new PipeInode.PipeBuffer { Pfn = pfn, Offset = 0, Len = chars - (int)left };
                pipe.NrBufs++;
                doWakeup = true;
                ret += chars - left;
                if (ret == count || left > 0)
                {
                    break;
                }
                if (pipe.NrBufs < PipeInode.PIPE_BUFFERS)
                {
                    continue;
                }
            }
            if ((file.Flags & OpenFlags.O_NONBLOCK) != 0)
            {
                if (ret == 0)
                {
                    ret = Errno.EAGAIN.Ret();
                }
                break;
            }
            if (Interrupted(p, ref ret))
            {
                break;
            }
            WakeOtherSide(pipe, ref doWakeup);
            pipe.WaitingWriters++;
            await PipeWait(pipe);
            pipe.WaitingWriters--;
        }
        if (doWakeup)
        {
            pipe.Wait.WakeUp(TaskState.TASK_INTERRUPTIBLE, 0, sync: true);
        }
        return ret;
    }

    /// <summary>A signal ends the sleep: -ERESTARTSYS if nothing was done yet.</summary>
    private static bool Interrupted(TaskStruct p, ref long ret)
    {
        if (!Machine.SignalPending(p))
        {
            return false;
        }
        if (ret == 0)
        {
            ret = Errno.ERESTARTSYS.Ret();
        }
        return true;
    }

    /// <summary>Before sleeping, wake the other side if this pass changed the ring for it (wake_up_interruptible_sync).</summary>
    private static void WakeOtherSide(PipeInode pipe, ref bool doWakeup)
    {
        if (doWakeup)
        {
            pipe.Wait.WakeUp(TaskState.TASK_INTERRUPTIBLE, 0, sync: true);
            doWakeup = false;
        }
    }

    /// <summary>copy_to_user from a pipe page, sleeping (and copying again) where a fault must sleep. Bytes not copied.</summary>
    private ValueTask<long> CopyOut(MmStruct mm, long dst, int pfn, int off, int n) => Copy(mm, dst, pfn, off, n, toUser: true);

    /// <summary>copy_from_user into a pipe page, the same way. Bytes not copied.</summary>
    private ValueTask<long> CopyIn(MmStruct mm, long src, int pfn, int off, int n) => Copy(mm, src, pfn, off, n, toUser: false);

    private ValueTask<long> Copy(MmStruct mm, long user, int pfn, int off, int n, bool toUser)
    {
        long left = CopyOnce(mm, user, pfn, off, n, toUser, out var w);
        return w.IsNone ? new ValueTask<long>(left) : CopySleeping(mm, user, pfn, off, n, toUser, w);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> CopySleeping(MmStruct mm, long user, int pfn, int off, int n, bool toUser, MmWait w)
    {
        while (true)
        {
            await Mem.SleepFor(w);
            long left = CopyOnce(mm, user, pfn, off, n, toUser, out w);
            if (w.IsNone)
            {
                return left;
            }
        }
    }

    /// <summary>One attempt as a synchronous section: bytes not copied, and what a fault stopped to wait for.</summary>
    private long CopyOnce(MmStruct mm, long user, int pfn, int off, int n, bool toUser, out MmWait w)
    {
        Mem.BeginSync();
        long left = toUser
            ? Uaccess.CopyToUser(mm, user, Mem.ReadPage(pfn).Slice(off, n))
            : Uaccess.CopyFromUser(mm, Mem.WritePage(pfn, off, n), user);
        w = Mem.EndSync();
        return left;
    }
}
