// struct rw_semaphore (Linux 2.6.20 lib/rwsem-spinlock.c semantics): the sleeping reader-writer
// lock mm_struct's mmap_sem is. Readers share it, a writer holds it alone, and waiters queue in
// FIFO order with no barging: a reader arriving while anyone waits queues too, so a waiting
// writer is not starved. Releasing hands the lock over (__rwsem_do_wake): to the first waiter
// if it is a writer, else to every reader at the front of the queue up to the first writer.
// Waiters sleep TASK_UNINTERRUPTIBLE; it may sleep, so process context only.
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed class KRwSemaphore
{
    private readonly LinkedList<Waiter> _waiters = new();

    private sealed class Waiter(TaskStruct task, bool write)
    {
        public TaskStruct Task { get; } = task;
        public bool Write { get; } = write;
        public bool Granted { get; set; }
    }

    public KRwSemaphore(string name = "rw_semaphore")
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>activity: readers holding it (&gt; 0), a writer holding it (-1), or free (0).</summary>
    public int Activity { get; private set; }

    public int Waiting => _waiters.Count;

    public long Contentions { get; private set; }

    /// <summary>down_read: shared; sleeps while a writer holds it or anyone waits.</summary>
    public ValueTask DownRead(Machine m) => Down(m, write: false);

    /// <summary>down_write: exclusive; sleeps while anyone holds it or waits.</summary>
    public ValueTask DownWrite(Machine m) => Down(m, write: true);

    /// <summary>down_read_trylock.</summary>
    public bool DownReadTrylock()
    {
        if (Activity >= 0 && _waiters.Count == 0)
        {
            Activity++;
            return true;
        }
        return false;
    }

    /// <summary>down_write_trylock.</summary>
    public bool DownWriteTrylock()
    {
        if (Activity == 0 && _waiters.Count == 0)
        {
            Activity = -1;
            return true;
        }
        return false;
    }

    private async ValueTask Down(Machine m, bool write)
    {
        ArgumentNullException.ThrowIfNull(m);
        await m.MightSleep();
        if (write ? DownWriteTrylock() : DownReadTrylock())
        {
            return;
        }
        Contentions++;
        var p = m.RequireExecuting();
        var w = new Waiter(p, write);
        _waiters.AddLast(w);
        while (!w.Granted)
        {
            p.State = TaskState.TASK_UNINTERRUPTIBLE;
            await m.Schedule();
        }
    }

    /// <summary>up_read: the last reader out hands the lock to a waiting writer.</summary>
    public void UpRead(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (Activity <= 0)
        {
            throw new KernelBug($"up_read of {Name} with activity {Activity}");
        }
        if (--Activity == 0)
        {
            DoWake(m);
        }
    }

    /// <summary>up_write: hand over to the first waiter (or to the readers at the front).</summary>
    public void UpWrite(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (Activity != -1)
        {
            throw new KernelBug($"up_write of {Name} with activity {Activity}");
        }
        Activity = 0;
        DoWake(m);
    }

    /// <summary>downgrade_write: the writer keeps the lock as a reader; readers at the front join it.</summary>
    public void DowngradeWrite(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (Activity != -1)
        {
            throw new KernelBug($"downgrade_write of {Name} with activity {Activity}");
        }
        Activity = 1;
        WakeReaders(m);
    }

    private void DoWake(Machine m)
    {
        if (_waiters.First is not { } first)
        {
            return;
        }
        if (first.Value.Write)
        {
            _waiters.RemoveFirst();
            Activity = -1;
            Grant(m, first.Value);
            return;
        }
        WakeReaders(m);
    }

    private void WakeReaders(Machine m)
    {
        while (_waiters.First is { Value.Write: false } node)
        {
            _waiters.RemoveFirst();
            Activity++;
            Grant(m, node.Value);
        }
    }

    private static void Grant(Machine m, Waiter w)
    {
        w.Granted = true;
        m.WakeUpState(w.Task, TaskState.TASK_UNINTERRUPTIBLE);
    }
}
