// A PTHREAD_PRIO_INHERIT mutex as glibc builds it on PI futexes: the word holds the owner's TID.
// Uncontended, lock is a cmpxchg 0 -> TID and unlock a cmpxchg TID -> 0, no syscall; contended,
// FUTEX_LOCK_PI sleeps on the kernel's rt_mutex (boosting the owner) and FUTEX_UNLOCK_PI hands the
// lock to the best waiter, writing its TID. Errors come back as Linux gives them (EDEADLK for a
// relock, EPERM for an unlock by another thread).
using Kernel.Syscalls;

namespace Kernel.Nptl;

public sealed class PthreadPiMutex
{
    private readonly int _private;

    private PthreadPiMutex(long addr, bool shared)
    {
        Addr = addr;
        _private = shared ? 0 : FutexOp.FUTEX_PRIVATE_FLAG;
    }

    public long Addr { get; }

    public static PthreadPiMutex Create(UserHeap heap)
    {
        ArgumentNullException.ThrowIfNull(heap);
        return new PthreadPiMutex(heap.Alloc(sizeof(int)), heap.Shared);
    }

    /// <summary>0, or the kernel's -errno (-EDEADLK, -ESRCH...).</summary>
    public async ValueTask<long> Lock(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        if (await self.CompareExchange(Addr, 0, (int)self.Gettid()) == 0)
        {
            return 0;
        }
        return await self.Futex(Addr, FutexOp.FUTEX_LOCK_PI | _private, 0);
    }

    /// <summary>0, or -EPERM when this thread does not own it.</summary>
    public async ValueTask<long> Unlock(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        int tid = (int)self.Gettid();
        if (await self.CompareExchange(Addr, tid, 0) == tid)
        {
            return 0;
        }
        return await self.Futex(Addr, FutexOp.FUTEX_UNLOCK_PI | _private, 0);
    }
}
