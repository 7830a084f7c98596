// pthread_barrier_wait: the last of `count` arrivals starts a new generation and wakes everyone
// sleeping on the generation word; the others sleep there until it changes. The count of
// arrivals is guarded by a PthreadMutex, as NPTL guards its barrier with a lowlevellock.
using Kernel.Syscalls;

namespace Kernel.Nptl;

public sealed class PthreadBarrier
{
    /// <summary>PTHREAD_BARRIER_SERIAL_THREAD: what one thread (the last to arrive) gets back.</summary>
    public const int PTHREAD_BARRIER_SERIAL_THREAD = -1;

    private readonly int _private;
    private readonly PthreadMutex _lock;
    private readonly long _arrived;
    private readonly long _generation;

    private PthreadBarrier(UserHeap heap, int count)
    {
        _private = heap.Shared ? 0 : FutexOp.FUTEX_PRIVATE_FLAG;
        _lock = PthreadMutex.Create(heap);
        _arrived = heap.Alloc(sizeof(int));
        _generation = heap.Alloc(sizeof(int));
        Count = count;
    }

    public int Count { get; }

    /// <summary>pthread_barrier_init: -EINVAL in C for a count of 0; here an exception.</summary>
    public static PthreadBarrier Create(UserHeap heap, int count)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return new PthreadBarrier(heap, count);
    }

    /// <summary>Wait for `Count` threads; PTHREAD_BARRIER_SERIAL_THREAD for the last to arrive, 0 for the others.</summary>
    public async ValueTask<int> Wait(UserTask self)
    {
        ArgumentNullException.ThrowIfNull(self);
        await _lock.Lock(self);
        int arrived = await self.Load<int>(_arrived) + 1;
        if (arrived == Count)
        {
            await self.Store(_arrived, 0);
            await self.FetchAdd(_generation, 1);
            await self.Futex(_generation, FutexOp.FUTEX_WAKE | _private, int.MaxValue);
            await _lock.Unlock(self);
            return PTHREAD_BARRIER_SERIAL_THREAD;
        }
        await self.Store(_arrived, arrived);
        int gen = await self.Load<int>(_generation);
        await _lock.Unlock(self);
        while (await self.Load<int>(_generation) == gen)
        {
            await self.Futex(_generation, FutexOp.FUTEX_WAIT | _private, gen);
        }
        return 0;
    }
}
