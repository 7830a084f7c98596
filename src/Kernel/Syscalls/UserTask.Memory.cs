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
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    private MmStruct MmOrThrow() => _k.MmOf(Task) ?? throw new InvalidOperationException($"Task {Task} has no address space.");

    /// <summary>The task's address space (read it for maps, counters, PTEs).</summary>
    public MmStruct? Mm => _k.MmOf(Task);

    /// <summary>
    /// mmap: anonymous private memory, shared anonymous memory (a shmem file), or a tmpfs file
    /// opened with Open (shared or private).
    /// </summary>
    public ValueTask<long> Mmap(long addr, long length, int prot, int flags, int fd = -1, long offset = 0)
    {
        var p = Enter();
        var mm = MmOrThrow();
        // sys_mmap2: fget (EBADF) comes before do_mmap_pgoff's checks.
        var file = (flags & MapFlags.MAP_ANONYMOUS) == 0 ? Fd(fd) : null;
        if ((flags & MapFlags.MAP_ANONYMOUS) == 0 && file is null)
        {
            return Return(Errno.EBADF.Ret());
        }
        int type = flags & (MapFlags.MAP_SHARED | MapFlags.MAP_PRIVATE);
        if (type is not (MapFlags.MAP_SHARED or MapFlags.MAP_PRIVATE) || (offset & (MemoryLayout.PAGE_SIZE - 1)) != 0)
        {
            return Return(Errno.EINVAL.Ret());
        }
        if (file is not null)
        {
            return Return(mm.DoMmapFile(file, addr, length, prot, flags, offset));
        }
        if (type == MapFlags.MAP_SHARED)
        {
            if (length <= 0)
            {
                return Return(Errno.EINVAL.Ret());
            }
            // shmem_zero_setup: shared anonymous memory is an unlinked shmem file.
            var zero = _k.Mm.Shmem.ZeroSetup((length + MemoryLayout.PAGE_SIZE - 1) & ~(MemoryLayout.PAGE_SIZE - 1L),
                noreserve: (flags & MapFlags.MAP_NORESERVE) != 0 && _k.Mm.Overcommit.Mode != Overcommit.OVERCOMMIT_NEVER, mm);
            if (zero is null)
            {
                return Return(Errno.ENOMEM.Ret());
            }
            long r = mm.DoMmapFile(zero, addr, length, prot, flags & ~MapFlags.MAP_ANONYMOUS, 0);
            zero.Fput(); // the mapping holds its own reference now
            return Return(r);
        }
        return Return(mm.DoMmapAnon(addr, length, prot, flags, privileged: p.Euid == 0));
    }

    public ValueTask<long> Munmap(long addr, long length)
    {
        Enter();
        return Return(MmOrThrow().DoMunmap(addr, length));
    }

    public ValueTask<long> Mprotect(long addr, long length, int prot)
    {
        Enter();
        return Return(MmOrThrow().Mprotect(addr, length, prot));
    }

    /// <summary>brk: the raw syscall returns the new (or unchanged) break; brk(0) asks for it.</summary>
    public ValueTask<long> Brk(long brk)
    {
        Enter();
        return Return(MmOrThrow().SysBrk(brk));
    }

    /// <summary>mremap: grow in place if the next pages are free, else move (MREMAP_MAYMOVE).</summary>
    public ValueTask<long> Mremap(long oldAddr, long oldLen, long newLen, int flags, long newAddr = 0)
    {
        Enter();
        return Return(MmOrThrow().Mremap(oldAddr, oldLen, newLen, flags, newAddr));
    }

    public ValueTask<long> Madvise(long addr, long length, int advice)
    {
        Enter();
        return Return(MmOrThrow().Madvise(addr, length, advice));
    }

    /// <summary>mincore: fills `vec` with one byte per page (1 = resident).</summary>
    public long Mincore(long addr, long length, byte[] vec)
    {
        Enter();
        ArgumentNullException.ThrowIfNull(vec);
        return MmOrThrow().Mincore(addr, length, vec);
    }

    public ValueTask<long> Msync(long addr, long length, int flags)
    {
        Enter();
        return Return(MmOrThrow().Msync(addr, length, flags));
    }

    public ValueTask<long> Mlock(long addr, long length)
    {
        var p = Enter();
        return Return(MmOrThrow().Mlock(addr, length, lockPages: true, privileged: p.Euid == 0));
    }

    public ValueTask<long> Munlock(long addr, long length)
    {
        var p = Enter();
        return Return(MmOrThrow().Mlock(addr, length, lockPages: false, privileged: p.Euid == 0));
    }

    // ------------------------------------------------------------------ loads and stores

    /// <summary>Load a value; completes synchronously unless the access raises a signal.</summary>
    public ValueTask<T> Load<T>(long addr) where T : unmanaged
    {
        _m.RequireExecuting(Task);
        int off = (int)(addr & (MemoryLayout.PAGE_SIZE - 1));
        if (off + Unsafe.SizeOf<T>() > MemoryLayout.PAGE_SIZE)
        {
            return LoadSlow<T>(addr);
        }
        int pfn = FaultIn(addr, write: false, out var r);
        return pfn >= 0 ? new ValueTask<T>(ReadAt<T>(pfn, off)) : LoadAfterSignal<T>(addr, r);
    }

    private T ReadAt<T>(int pfn, int off) where T : unmanaged => MemoryMarshal.Read<T>(_k.Mm.ReadPage(pfn)[off..]);

    private async ValueTask<T> LoadAfterSignal<T>(long addr, FaultResult failed) where T : unmanaged
    {
        int pfn = await RaiseAndRetry(addr, write: false, failed);
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
        _m.RequireExecuting(Task);
        int size = Unsafe.SizeOf<T>();
        int off = (int)(addr & (MemoryLayout.PAGE_SIZE - 1));
        if (off + size > MemoryLayout.PAGE_SIZE)
        {
            var buf = new byte[size];
            MemoryMarshal.Write(buf, in value);
            return StoreBytes(addr, buf);
        }
        int pfn = FaultIn(addr, write: true, out var r);
        if (pfn < 0)
        {
            return StoreAfterSignal(addr, value, r);
        }
        MemoryMarshal.Write(_k.Mm.WritePage(pfn)[off..], in value);
        return default;
    }

    private async ValueTask StoreAfterSignal<T>(long addr, T value, FaultResult failed) where T : unmanaged
    {
        int pfn = await RaiseAndRetry(addr, write: true, failed);
        MemoryMarshal.Write(_k.Mm.WritePage(pfn)[(int)(addr & (MemoryLayout.PAGE_SIZE - 1))..], in value);
    }

    /// <summary>Copy bytes out of the task's memory (a load per page touched).</summary>
    public async ValueTask LoadBytes(long addr, Memory<byte> dest)
    {
        _m.RequireExecuting(Task);
        int done = 0;
        while (done < dest.Length)
        {
            long a = addr + done;
            int off = (int)(a & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(dest.Length - done, MemoryLayout.PAGE_SIZE - off);
            int pfn = await Access(a, write: false);
            _k.Mm.ReadPage(pfn).Slice(off, n).CopyTo(dest.Span.Slice(done, n));
            done += n;
        }
    }

    /// <summary>Copy bytes into the task's memory (a store per page touched).</summary>
    public async ValueTask StoreBytes(long addr, ReadOnlyMemory<byte> src)
    {
        _m.RequireExecuting(Task);
        int done = 0;
        while (done < src.Length)
        {
            long a = addr + done;
            int off = (int)(a & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(src.Length - done, MemoryLayout.PAGE_SIZE - off);
            int pfn = await Access(a, write: true);
            src.Span.Slice(done, n).CopyTo(_k.Mm.WritePage(pfn).Slice(off, n));
            done += n;
        }
    }

    /// <summary>
    /// Touch a range (a workload generator's sweep): one load or store every `stride` bytes.
    /// Returns the number of accesses made.
    /// </summary>
    public async ValueTask<long> Touch(long addr, long length, bool write, long stride = MemoryLayout.PAGE_SIZE)
    {
        _m.RequireExecuting(Task);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        long n = 0;
        for (long a = addr; a < addr + length; a += stride, n++)
        {
            if (FaultIn(a, write, out var r) < 0)
            {
                await RaiseAndRetry(a, write, r);
            }
        }
        return n;
    }

    /// <summary>
    /// The synchronous half of an access: translate, and service minor faults in place. Returns the
    /// pfn, or -1 with the fault that needs a signal (whose delivery must await the return to user
    /// mode). Kept out of the async methods so the common fault allocates no state machine.
    /// </summary>
    private int FaultIn(long addr, bool write, out FaultResult failed)
    {
        var mm = MmOrThrow();
        while (true)
        {
            int pfn = mm.Translate(addr, write);
            if (pfn >= 0)
            {
                failed = FaultResult.Minor;
                return pfn;
            }
            var r = PageFault.DoPageFault(mm, Task, addr, write, userMode: true);
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
        int pfn = FaultIn(addr, write, out var r);
        return pfn >= 0 ? new ValueTask<int>(pfn) : RaiseAndRetry(addr, write, r);
    }

    /// <summary>
    /// A fault the kernel could not resolve: raise its signal, return to user mode (where the
    /// signal is handled or kills the task), and retry the access as the hardware would.
    /// </summary>
    private async ValueTask<int> RaiseAndRetry(long addr, bool write, FaultResult failed)
    {
        var p = Task;
        bool retried = false;
        while (true)
        {
            if (failed == FaultResult.Sigbus)
            {
                _k.ForceSignal(p, Signals.SIGBUS);
            }
            else if (failed == FaultResult.Oom)
            {
                _m.RecordWarning(_m.ThisCpu, $"VM: killing process {p.Comm}");
                _k.ForceSignal(p, Signals.SIGKILL); // the task dies on its way back to user mode
            }
            else
            {
                // SIGSEGV: a handler gets one chance; a second fault dies with the default action.
                if (retried)
                {
                    p.SigActions[Signals.SIGSEGV] = SignalDisposition.Default;
                }
                _k.ForceSignal(p, Signals.SIGSEGV);
                retried = true;
            }
            await Return(0);
            int pfn = FaultIn(addr, write, out failed);
            if (pfn >= 0)
            {
                return pfn;
            }
        }
    }
}
