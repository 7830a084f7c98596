// A condition variable over a sequence word, in the style of NPTL's (and later musl's): a waiter
// reads the sequence, releases the mutex and FUTEX_WAITs on the sequence; signal bumps it and
// wakes one; broadcast bumps it and FUTEX_CMP_REQUEUEs, waking one waiter and moving every other
// onto the mutex's futex, so they are woken one at a time by unlocks instead of all at once only
// to fight for the mutex (the thundering herd CMP_REQUEUE exists to stop). A woken waiter retakes
// the mutex marked contended (2), so its unlock wakes the next one that was moved.
using Kernel.Core;
using Kernel.Syscalls;

namespace Kernel.Nptl;

public sealed class PthreadCond
{
    private readonly int _private;

    private PthreadCond(long addr, bool shared)
    {
        Addr = addr;
        _private = shared ? 0 : FutexOp.FUTEX_PRIVATE_FLAG;
    }

    /// <summary>The user address of the sequence word.</summary>
    public long Addr { get; }

    public static PthreadCond Create(UserHeap heap)
    {
        ArgumentNullException.ThrowIfNull(heap);
        return new PthreadCond(heap.Alloc(sizeof(int)), heap.Shared);
    }

    /// <summary>pthread_cond_wait: `mutex` is held on entry and on return.</summary>
    public async ValueTask Wait(UserTask self, PthreadMutex mutex)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(mutex);
        int seq = await self.Load<int>(Addr);
        await mutex.Unlock(self);
        await self.Futex(Addr, FutexOp.FUTEX_WAIT | _private, seq);
        // Woken here or requeued and then woken by an unlock: others may be queued on the mutex.
        await mutex.LockContended(self, 1);
    }

    /// <summary>pthread_cond_signal: wake one waiter.</summary>
    public async ValueTask Signal(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        await self.FetchAdd(Addr, 1);
        await self.Futex(Addr, FutexOp.FUTEX_WAKE | _private, 1);
    }

    /// <summary>pthread_cond_broadcast: wake one, requeue the rest onto the mutex (one syscall).</summary>
    public async ValueTask Broadcast(UserTask self, PthreadMutex mutex)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(mutex);
        int seq = await self.FetchAdd(Addr, 1) + 1;
        long r = await self.Futex(Addr, FutexOp.FUTEX_CMP_REQUEUE | _private, 1, int.MaxValue, mutex.Addr, seq);
        if (r == Errno.EAGAIN.Ret())
        {
            // Another signal or broadcast moved the sequence on between our add and the call: wake them all.
            await self.Futex(Addr, FutexOp.FUTEX_WAKE | _private, int.MaxValue);
        }
    }
}
