// Linux 2.6.20 include/linux/wait.h, kernel/wait.c: wait_queue_head_t and wait_queue_t.
// Entries are intrusive and each task embeds one (TaskStruct.WaitEntry), so prepare_to_wait and
// a wake-up allocate nothing. Exclusive waiters sit at the tail and a wake-up stops after
// waking nr_exclusive of them (the thundering-herd rule).
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed partial class WaitQueueHead
{
    public WaitQueueHead(string name = "wait")
    {
        Name = name;
    }

    public string Name { get; }

    internal WaitQueueEntry? First;
    internal WaitQueueEntry? Last;

    public int Count { get; private set; }

    public bool IsActive => First is not null;

    /// <summary>add_wait_queue (non-exclusive at the head) / add_wait_queue_exclusive (tail).</summary>
    public void Add(WaitQueueEntry e)
    {
        if (e.Head is not null)
        {
            throw new KernelBug($"wait queue entry of {e.Task} is already on {e.Head.Name}");
        }
        e.Head = this;
        if (e.Exclusive || First is null)
        {
            e.Prev = Last;
            e.Next = null;
            if (Last is null)
            {
                First = e;
            }
            else
            {
                Last.Next = e;
            }
            Last = e;
        }
        else
        {
            e.Next = First;
            e.Prev = null;
            First.Prev = e;
            First = e;
        }
        Count++;
    }

    public void Remove(WaitQueueEntry e)
    {
        if (e.Head != this)
        {
            return;
        }
        if (e.Prev is null)
        {
            First = e.Next;
        }
        else
        {
            e.Prev.Next = e.Next;
        }
        if (e.Next is null)
        {
            Last = e.Prev;
        }
        else
        {
            e.Next.Prev = e.Prev;
        }
        e.Prev = null;
        e.Next = null;
        e.Head = null;
        Count--;
    }

    /// <summary>__wake_up_common: wake non-exclusive waiters and up to nrExclusive exclusive ones.</summary>
    public int WakeUp(TaskState mode = TaskState.TASK_INTERRUPTIBLE | TaskState.TASK_UNINTERRUPTIBLE, int nrExclusive = 1, bool sync = false) =>
        WakeUpCommon(mode, nrExclusive, sync, key: null);

    /// <summary>
    /// __wake_up_bit: wake only the waiters whose key matches (wake_bit_function), so many
    /// objects can share one hashed queue without waking each other's waiters.
    /// </summary>
    public int WakeUpKey(long key, TaskState mode = TaskState.TASK_INTERRUPTIBLE | TaskState.TASK_UNINTERRUPTIBLE, int nrExclusive = 1) =>
        WakeUpCommon(mode, nrExclusive, sync: false, key);

    private int WakeUpCommon(TaskState mode, int nrExclusive, bool sync, long? key)
    {
        int woken = 0;
        var e = First;
        while (e is not null)
        {
            var next = e.Next;
            if (key is { } k && e.Key != k)
            {
                e = next;
                continue;
            }
            bool exclusive = e.Exclusive;
            bool ok = e.WakeFunction is null
                ? e.Task.Machine.Scheduler.TryToWakeUp(e.Task, mode, sync)
                : e.WakeFunction(e, mode, sync);
            if (ok)
            {
                woken++;
                if (e.AutoRemove)
                {
                    Remove(e);
                }
                if (exclusive && --nrExclusive == 0)
                {
                    break;
                }
            }
            e = next;
        }
        return woken;
    }

    public IEnumerable<TaskStruct> Waiters()
    {
        for (var e = First; e is not null; e = e.Next)
        {
            yield return e.Task;
        }
    }

    public override string ToString() => Name;
}

/// <summary>wait_queue_t: one task waiting on one queue.</summary>
public sealed class WaitQueueEntry
{
    public WaitQueueEntry(TaskStruct task)
    {
        Task = task;
    }

    public TaskStruct Task { get; }

    public bool Exclusive { get; set; }

    /// <summary>autoremove_wake_function: leave the queue when woken.</summary>
    public bool AutoRemove { get; set; } = true;

    /// <summary>A custom wake function (return true if the task was woken); default try_to_wake_up.</summary>
    public Func<WaitQueueEntry, TaskState, bool, bool>? WakeFunction { get; set; }

    /// <summary>The (object, bit) a keyed wait waits for (wait_bit_queue's key); ignored by plain wake-ups.</summary>
    public long Key { get; set; }

    public WaitQueueHead? Head { get; internal set; }

    internal WaitQueueEntry? Prev;
    internal WaitQueueEntry? Next;
}
