// Sleeping locks: struct semaphore (down/up) and struct mutex (2.6.16+). A task that cannot get
// one sleeps TASK_UNINTERRUPTIBLE (or INTERRUPTIBLE for the _interruptible forms) on an
// exclusive wait queue; up/unlock hands the lock to the first waiter. Both may sleep, so they
// are for process context only: calling them in atomic context is caught by might_sleep.
using System.Runtime.CompilerServices;
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public class KSemaphore
{
    public KSemaphore(int count, string name = "semaphore")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        Wait = new WaitQueueHead(name);
        Name = name;
        _available = () => Count > 0;
    }

    // The wait condition, made once rather than per contended down.
    private readonly Func<bool> _available;

    public string Name { get; }

    public int Count { get; private set; }

    public WaitQueueHead Wait { get; }

    public long Contentions { get; private set; }

    /// <summary>down(): sleep uninterruptibly until the count can be taken.</summary>
    public ValueTask Down(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        // The uncontended down completes here, without an async frame (most downs are uncontended).
        var mightSleep = m.MightSleep();
        if (mightSleep.IsCompletedSuccessfully && Count > 0)
        {
            mightSleep.GetAwaiter().GetResult();
            Count--;
            return default;
        }
        return DownSlow(m, mightSleep);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DownSlow(Machine m, ValueTask mightSleep)
    {
        await mightSleep;
        if (Count > 0)
        {
            Count--;
            return;
        }
        Contentions++;
        await Wait.WaitEvent(m, _available, interruptible: false, exclusive: true);
        Count--;
    }

    /// <summary>down_interruptible(): 0, or -EINTR if a signal arrived first.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> DownInterruptible(Machine m)
    {
        await m.MightSleep();
        if (Count > 0)
        {
            Count--;
            return 0;
        }
        Contentions++;
        if (!await Wait.WaitEvent(m, _available, interruptible: true, exclusive: true))
        {
            return Errno.EINTR.Ret();
        }
        Count--;
        return 0;
    }

    /// <summary>down_trylock(): 0 on success, 1 if it would sleep (Linux's inverted convention).</summary>
    public int DownTrylock()
    {
        if (Count > 0)
        {
            Count--;
            return 0;
        }
        return 1;
    }

    public void Up()
    {
        Count++;
        Wait.WakeUp(TaskState.TASK_UNINTERRUPTIBLE | TaskState.TASK_INTERRUPTIBLE, 1);
    }
}

/// <summary>struct mutex: a binary sleeping lock with an owner (kernel/mutex.c).</summary>
public sealed class KMutex : KSemaphore
{
    public KMutex(string name = "mutex") : base(1, name)
    {
    }

    public TaskStruct? Owner { get; private set; }

    public ValueTask Lock(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        if (Owner == p)
        {
            throw new KernelBug($"BUG: recursive mutex_lock of {Name} by {p}", m.DumpState(p));
        }
        var down = Down(m);
        if (down.IsCompletedSuccessfully)
        {
            down.GetAwaiter().GetResult();
            Owner = p;
            return default;
        }
        return LockSlow(p, down);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask LockSlow(TaskStruct p, ValueTask down)
    {
        await down;
        Owner = p;
    }

    public void Unlock(Machine m)
    {
        var p = m.RequireExecuting();
        if (Owner != p)
        {
            throw new KernelBug($"BUG: mutex_unlock of {Name} by non-owner {p} (owner {Owner})", m.DumpState(p));
        }
        Owner = null;
        Up();
    }
}
