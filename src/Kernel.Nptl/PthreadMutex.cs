// Drepper's "Futexes Are Tricky" mutex, take 3 (the form glibc's lowlevellock uses): the word is
// 0 unlocked, 1 locked, 2 locked and maybe contended. lock: cmpxchg 0 -> 1, else xchg 2 and
// FUTEX_WAIT on 2 until an xchg returns 0. unlock: atomic decrement; only if it was 2 store 0
// and FUTEX_WAKE one. So an uncontended lock and unlock make no syscall at all, and an unlock
// makes one only when someone may be sleeping.
using Kernel.Syscalls;

namespace Kernel.Nptl;

public sealed class PthreadMutex
{
    private readonly int _private;

    private PthreadMutex(long addr, bool shared)
    {
        Addr = addr;
        _private = shared ? 0 : FutexOp.FUTEX_PRIVATE_FLAG;
    }

    /// <summary>The user address of the futex word.</summary>
    public long Addr { get; }

    /// <summary>pthread_mutex_init: a word from `heap` (PTHREAD_PROCESS_SHARED when the heap is shared).</summary>
    public static PthreadMutex Create(UserHeap heap)
    {
        ArgumentNullException.ThrowIfNull(heap);
        return new PthreadMutex(heap.Alloc(sizeof(int)), heap.Shared);
    }

    internal int FutexFlags => _private;

    public async ValueTask Lock(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        int c = await self.CompareExchange(Addr, 0, 1);
        if (c == 0)
        {
            return;
        }
        await LockContended(self, c);
    }

    /// <summary>The slow path, also the way a condition variable's waiter retakes the mutex (it must leave it marked 2).</summary>
    internal async ValueTask LockContended(UserTask self, int c)
    {
        if (c != 2)
        {
            c = await self.Exchange(Addr, 2);
        }
        while (c != 0)
        {
            await self.Futex(Addr, FutexOp.FUTEX_WAIT | _private, 2);
            c = await self.Exchange(Addr, 2);
        }
    }

    /// <summary>pthread_mutex_trylock: true when taken (no syscall either way).</summary>
    public async ValueTask<bool> TryLock(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        return await self.CompareExchange(Addr, 0, 1) == 0;
    }

    public async ValueTask Unlock(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        if (await self.FetchAdd(Addr, -1) != 1)
        {
            await self.Store(Addr, 0);
            await self.Futex(Addr, FutexOp.FUTEX_WAKE | _private, 1);
        }
    }
}
