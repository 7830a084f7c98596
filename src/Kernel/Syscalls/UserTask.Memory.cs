// Memory syscalls (mmap, munmap, mprotect, brk) and the program's loads and stores. Every access
// goes through the page tables: a present, permitted PTE completes at once (the MMU sets the
// accessed and dirty bits); anything else is a page fault, fixed by the kernel (zero page, new
// page, copy-on-write, stack growth) or answered with SIGSEGV — which kills the task unless it
// has a handler (then the access is retried once, and a second fault kills it). A fault that
// cannot get memory kills the task with SIGKILL, as 2.6.20's out_of_memory label in
// do_page_fault does ("VM: killing process").
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Arch;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    private MmStruct MmOrThrow() => _k.MmOf(TaskStruct) ?? throw new InvalidOperationException($"TaskStruct {TaskStruct} has no address space.");

    /// <summary>The task's address space (read it for maps, counters, PTEs).</summary>
    public MmStruct? Mm => _k.MmOf(TaskStruct);

    /// <summary>
    /// mmap: anonymous private memory, shared anonymous memory (a shmem file), or a tmpfs file
    /// opened with Open (shared or private).
    /// </summary>
    public ValueTask<long> Mmap(long addr, long length, int prot, int flags, int fd = -1, long offset = 0)
    {
        var p = Enter();
        // sys_mmap2: fget (EBADF) comes before do_mmap_pgoff's checks, and before mmap_sem.
        var file = (flags & MapFlags.MAP_ANONYMOUS) == 0 ? Fd(fd) : null;
        if ((flags & MapFlags.MAP_ANONYMOUS) == 0 && file is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        return MmSyscall(write: true, (addr, length, prot, flags, file, offset, privileged: p.Euid == 0), static (mm, a) =>
            mm.DoMmapPgoff(a.file, a.addr, a.length, a.prot, a.flags, a.offset, a.privileged));
    }

    public ValueTask<long> Munmap(long addr, long length)
    {
        Enter();
        return MmSyscall(write: true, (addr, length), static (mm, a) => mm.DoMunmap(a.addr, a.length));
    }

    public ValueTask<long> Mprotect(long addr, long length, int prot)
    {
        Enter();
        return MmSyscall(write: true, (addr, length, prot), static (mm, a) => mm.Mprotect(a.addr, a.length, a.prot));
    }

    /// <summary>brk: the raw syscall returns the new (or unchanged) break; brk(0) asks for it.</summary>
    public ValueTask<long> Brk(long brk)
    {
        Enter();
        return MmSyscall(write: true, brk, static (mm, b) => mm.SysBrk(b));
    }

    /// <summary>mremap: grow in place if the next pages are free, else move (MREMAP_MAYMOVE).</summary>
    public ValueTask<long> Mremap(long oldAddr, long oldLen, long newLen, int flags, long newAddr = 0)
    {
        Enter();
        return MmSyscall(write: true, (oldAddr, oldLen, newLen, flags, newAddr), static (mm, a) =>
            mm.Mremap(a.oldAddr, a.oldLen, a.newLen, a.flags, a.newAddr));
    }

    public ValueTask<long> Madvise(long addr, long length, int advice)
    {
        Enter();
        return MmSyscall(write: true, (addr, length, advice), static (mm, a) => mm.Madvise(a.addr, a.length, a.advice));
    }

    /// <summary>mincore: fills `vec` with one byte per page (1 = resident).</summary>
    public ValueTask<long> Mincore(long addr, long length, byte[] vec)
    {
        Enter();
        ArgumentNullException.ThrowIfNull(vec);
        return MmSyscall(write: false, (addr, length, vec), static (mm, a) => mm.Mincore(a.addr, a.length, a.vec));
    }

    public ValueTask<long> Msync(long addr, long length, int flags)
    {
        Enter();
        return MmSyscall(write: false, (addr, length, flags), static (mm, a) => mm.Msync(a.addr, a.length, a.flags));
    }

    public ValueTask<long> Mlock(long addr, long length)
    {
        var p = Enter();
        return MmSyscall(write: true, (addr, length, privileged: p.Euid == 0), static (mm, a) =>
            mm.Mlock(a.addr, a.length, lockPages: true, a.privileged));
    }

    public ValueTask<long> Munlock(long addr, long length)
    {
        var p = Enter();
        return MmSyscall(write: true, (addr, length, privileged: p.Euid == 0), static (mm, a) =>
            mm.Mlock(a.addr, a.length, lockPages: false, a.privileged));
    }

    // ------------------------------------------------------------------ mmap_sem and sleeping

    /// <summary>
    /// Run a memory syscall's body under mmap_sem (down_write, or down_read for mincore and
    /// msync). The fast path takes the semaphore with a trylock and runs the body in a synchronous
    /// section, allocating nothing; if the semaphore is contended, or the body stopped where Linux
    /// sleeps (direct reclaim, a page under I/O), the slow path sleeps holding the semaphore, as
    /// 2.6.20 does, and runs the body again (or finishes its populate).
    /// </summary>
    private ValueTask<long> MmSyscall<TArg>(bool write, TArg arg, Func<MmStruct, TArg, long> body)
    {
        var mm = MmOrThrow();
        var sem = mm.MmapSem;
        if (!(write ? sem.DownWriteTrylock() : sem.DownReadTrylock()))
        {
            return MmSyscallSlow(mm, write, arg, body, MmWait.None, semHeld: false, 0);
        }
        var mem = _k.Memory;
        mem.BeginSync();
        long r = body(mm, arg);
        var w = mem.EndSync();
        if (!w.IsNone && (r < 0 || mm.PopulatePending))
        {
            return MmSyscallSlow(mm, write, arg, body, w, semHeld: true, r);
        }
        mm.CancelPopulate();
        UpMmapSem(sem, write);
        return Return(r);
    }

    private async ValueTask<long> MmSyscallSlow<TArg>(MmStruct mm, bool write, TArg arg, Func<MmStruct, TArg, long> body, MmWait w, bool semHeld, long r)
    {
        var mem = _k.Memory;
        var sem = mm.MmapSem;
        if (!semHeld)
        {
            await (write ? sem.DownWrite(_m) : sem.DownRead(_m));
        }
        bool runBody = !semHeld || r < 0;
        bool mayDefer = true;
        while (true)
        {
            if (!w.IsNone)
            {
                mayDefer = await mem.SleepFor(w);
            }
            mem.BeginSync(mayDefer);
            if (runBody)
            {
                r = body(mm, arg);
            }
            else
            {
                mm.ResumePopulate();
            }
            w = mem.EndSync();
            if (w.IsNone || (r >= 0 && !mm.PopulatePending))
            {
                break;
            }
            runBody = r < 0; // failed: run it again after the sleep; succeeded: finish its populate
        }
        mm.CancelPopulate();
        UpMmapSem(sem, write);
        return await Return(r);
    }

    private void UpMmapSem(Kernel.Core.Locking.KRwSemaphore sem, bool write)
    {
        if (write)
        {
            sem.UpWrite(_m);
        }
        else
        {
            sem.UpRead(_m);
        }
    }

    // ------------------------------------------------------------------ loads and stores

    /// <summary>Load a value; completes synchronously unless the access raises a signal.</summary>
    public ValueTask<T> Load<T>(long addr) where T : unmanaged
    {
        _m.RequireExecuting(TaskStruct);
        int off = (int)(addr & (MemoryLayout.PAGE_SIZE - 1));
        if (off + Unsafe.SizeOf<T>() > MemoryLayout.PAGE_SIZE)
        {
            return LoadSlow<T>(addr);
        }
        int pfn = FaultIn(addr, write: false, out var r, out var retry);
        return pfn >= 0 ? new ValueTask<T>(ReadAt<T>(pfn, off)) : LoadSlowFault<T>(addr, r, retry);
    }

    private T ReadAt<T>(int pfn, int off) where T : unmanaged => MemoryMarshal.Read<T>(_k.Memory.ReadPage(pfn)[off..]);

    private async ValueTask<T> LoadSlowFault<T>(long addr, FaultResult failed, FaultRetry retry) where T : unmanaged
    {
        int pfn = await FaultSlow(addr, write: false, failed, retry);
        return ReadAt<T>(pfn, (int)(addr & (MemoryLayout.PAGE_SIZE - 1)));
    }

    private async ValueTask<T> LoadSlow<T>(long addr) where T : unmanaged
    {
        var buf = new byte[Unsafe.SizeOf<T>()];
        await LoadBytes(addr, buf);
        return MemoryMarshal.Read<T>(buf);
    }

    /// <summary>Store a value; completes synchronously unless the access raises a signal.</summary>
    public ValueTask Store<T>(long addr, T value) where T : unmanaged
    {
        _m.RequireExecuting(TaskStruct);
        int size = Unsafe.SizeOf<T>();
        int off = (int)(addr & (MemoryLayout.PAGE_SIZE - 1));
        if (off + size > MemoryLayout.PAGE_SIZE)
        {
            var buf = new byte[size];
            MemoryMarshal.Write(buf, in value);
            return StoreBytes(addr, buf);
        }
        int pfn = FaultIn(addr, write: true, out var r, out var retry);
        if (pfn < 0)
        {
            return StoreSlowFault(addr, value, r, retry);
        }
        MemoryMarshal.Write(_k.Memory.WritePage(pfn, off, Unsafe.SizeOf<T>()), in value);
        return default;
    }

    private async ValueTask StoreSlowFault<T>(long addr, T value, FaultResult failed, FaultRetry retry) where T : unmanaged
    {
        int pfn = await FaultSlow(addr, write: true, failed, retry);
        MemoryMarshal.Write(_k.Memory.WritePage(pfn, (int)(addr & (MemoryLayout.PAGE_SIZE - 1)), Unsafe.SizeOf<T>()), in value);
    }

    /// <summary>Copy bytes out of the task's memory (a load per page touched).</summary>
    public async ValueTask LoadBytes(long addr, Memory<byte> dest)
    {
        _m.RequireExecuting(TaskStruct);
        int done = 0;
        while (done < dest.Length)
        {
            long a = addr + done;
            int off = (int)(a & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(dest.Length - done, MemoryLayout.PAGE_SIZE - off);
            int pfn = await Access(a, write: false);
            _k.Memory.ReadPage(pfn).Slice(off, n).CopyTo(dest.Span.Slice(done, n));
            done += n;
        }
    }

    /// <summary>Copy bytes into the task's memory (a store per page touched).</summary>
    public async ValueTask StoreBytes(long addr, ReadOnlyMemory<byte> src)
    {
        _m.RequireExecuting(TaskStruct);
        int done = 0;
        while (done < src.Length)
        {
            long a = addr + done;
            int off = (int)(a & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(src.Length - done, MemoryLayout.PAGE_SIZE - off);
            int pfn = await Access(a, write: true);
            src.Span.Slice(done, n).CopyTo(_k.Memory.WritePage(pfn, off, n));
            done += n;
        }
    }

    /// <summary>
    /// Touch a range (a workload generator's sweep): one load or store every `stride` bytes.
    /// Returns the number of accesses made.
    /// </summary>
    public async ValueTask<long> Touch(long addr, long length, bool write, long stride = MemoryLayout.PAGE_SIZE)
    {
        _m.RequireExecuting(TaskStruct);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        long n = 0;
        for (long a = addr; a < addr + length; a += stride, n++)
        {
            if (FaultIn(a, write, out var r, out var retry) < 0)
            {
                await FaultSlow(a, write, r, retry);
            }
        }
        return n;
    }

    /// <summary>
    /// The synchronous half of an access: translate, and service faults in place. Returns the pfn,
    /// or -1 with the fault that needs a signal (whose delivery must await the return to user
    /// mode) or must sleep (Retry, with what its slow path needs). Kept out of the async methods
    /// so the common fault allocates no state machine.
    /// </summary>
    private int FaultIn(long addr, bool write, out FaultResult failed, out FaultRetry retry)
    {
        var mm = MmOrThrow();
        while (true)
        {
            int pfn = mm.Translate(addr, write);
            if (pfn >= 0)
            {
                failed = FaultResult.Minor;
                retry = default;
                return pfn;
            }
            var r = PageFault.DoPageFault(mm, TaskStruct, addr, write, userMode: true, out retry);
            if (r != FaultResult.Minor)
            {
                failed = r;
                return -1;
            }
        }
    }

    /// <summary>An access that may fault: returns the pfn once the PTE allows it.</summary>
    private ValueTask<int> Access(long addr, bool write)
    {
        int pfn = FaultIn(addr, write, out var r, out var retry);
        return pfn >= 0 ? new ValueTask<int>(pfn) : FaultSlow(addr, write, r, retry);
    }

    /// <summary>
    /// A fault the fast path could not finish: sleep in its slow path if it must; if the kernel
    /// could not resolve it, raise its signal and return to user mode (where the signal is handled
    /// or kills the task); then retry the access as the hardware would.
    /// </summary>
    private async ValueTask<int> FaultSlow(long addr, bool write, FaultResult failed, FaultRetry retry)
    {
        var p = TaskStruct;
        bool retried = false;
        while (true)
        {
            if (failed == FaultResult.Retry)
            {
                failed = await PageFault.DoPageFaultSlow(MmOrThrow(), p, addr, write, retry);
                if (failed == FaultResult.Minor && (p.ThreadFlags & ThreadInfoFlags.TIF_SIGPENDING) != 0)
                {
                    await Return(0); // the fault slept and a signal came (the OOM killer's SIGKILL): ret_from_exception handles it
                }
            }
            if (failed != FaultResult.Minor)
            {
                RaiseFaultSignal(p, failed, retried);
                retried |= failed is FaultResult.SegvMaperr or FaultResult.SegvAccerr or FaultResult.Sigbus;
                await Return(0);
            }
            int pfn = FaultIn(addr, write, out failed, out retry);
            if (pfn >= 0)
            {
                return pfn;
            }
        }
    }

    /// <summary>The signal of a fault the kernel could not fix (do_page_fault's bad_area, do_sigbus, out_of_memory).</summary>
    private void RaiseFaultSignal(TaskStruct p, FaultResult failed, bool retried)
    {
        if (failed == FaultResult.Sigbus)
        {
            // As for SIGSEGV below: a handler gets one chance (a returning handler would retry
            // the access for ever, as on Linux; the emulator ends the loop with the default action).
            if (retried)
            {
                ProcessState.Of(p).Sighand.Action[Signals.SIGBUS] = SignalDisposition.Default;
            }
            _k.Processes.ForceSignal(p, Signals.SIGBUS);
        }
        else if (failed == FaultResult.Oom)
        {
            _m.RecordWarning(_m.ThisCpu, $"VM: killing process {p.Comm}");
            _k.Processes.ForceSignal(p, Signals.SIGKILL); // the task dies on its way back to user mode
        }
        else
        {
            // SIGSEGV: a handler gets one chance; a second fault dies with the default action.
            if (retried)
            {
                ProcessState.Of(p).Sighand.Action[Signals.SIGSEGV] = SignalDisposition.Default;
            }
            _k.Processes.ForceSignal(p, Signals.SIGSEGV);
        }
    }
}
