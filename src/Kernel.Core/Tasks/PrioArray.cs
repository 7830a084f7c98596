// Linux 2.6.20 kernel/sched.c: struct prio_array. MAX_PRIO FIFO queues plus a bitmap with one
// bit per non-empty queue and a delimiter bit at MAX_PRIO, so the highest-priority runnable
// task is one find-first-bit away whatever the number of tasks. The queues are intrusive
// doubly-linked lists through TaskStruct.RunNext/RunPrev: queueing allocates nothing.
// Lives in Core because it is the scheduling seam's data: a runqueue and the 2.4 single list
// are both built from it, and the invariant checker reads it.
using System.Numerics;

namespace Kernel.Core.Tasks;

public sealed class PrioArray
{
    public const int MAX_PRIO = 140;
    private const int BitmapWords = (MAX_PRIO + 1 + 63) / 64;

    private readonly TaskStruct?[] _head = new TaskStruct?[MAX_PRIO];
    private readonly TaskStruct?[] _tail = new TaskStruct?[MAX_PRIO];
    private readonly ulong[] _bitmap = new ulong[BitmapWords];

    public PrioArray()
    {
        // sched_init: the delimiter bit stops find-first-bit at MAX_PRIO when the array is empty.
        _bitmap[MAX_PRIO / 64] |= 1UL << (MAX_PRIO % 64);
    }

    /// <summary>nr_active: tasks queued in this array.</summary>
    public int NrActive { get; private set; }

    /// <summary>sched_find_first_bit: lowest set priority, MAX_PRIO when empty.</summary>
    public int FindFirstBit()
    {
        for (int w = 0; w < BitmapWords; w++)
        {
            ulong b = _bitmap[w];
            if (b != 0)
            {
                return w * 64 + BitOperations.TrailingZeroCount(b);
            }
        }
        return MAX_PRIO;
    }

    public bool TestBit(int prio) => (_bitmap[prio >> 6] & (1UL << (prio & 63))) != 0;

    public TaskStruct? First(int prio) => _head[prio];

    public TaskStruct? Last(int prio) => _tail[prio];

    public static TaskStruct? Next(TaskStruct p) => p.RunNext;

    public static TaskStruct? Prev(TaskStruct p) => p.RunPrev;

    /// <summary>enqueue_task: list_add_tail on queue[p->prio].</summary>
    public void Enqueue(TaskStruct p)
    {
        LinkTail(p, p.Prio);
        NrActive++;
        p.Array = this;
    }

    /// <summary>enqueue_task_head: list_add at the front of queue[p->prio].</summary>
    public void EnqueueHead(TaskStruct p)
    {
        int prio = p.Prio;
        var head = _head[prio];
        p.RunNext = head;
        p.RunPrev = null;
        if (head is null)
        {
            _tail[prio] = p;
        }
        else
        {
            head.RunPrev = p;
        }
        _head[prio] = p;
        _bitmap[prio >> 6] |= 1UL << (prio & 63);
        NrActive++;
        p.Array = this;
    }

    private void LinkTail(TaskStruct p, int prio)
    {
        var tail = _tail[prio];
        p.RunPrev = tail;
        p.RunNext = null;
        if (tail is null)
        {
            _head[prio] = p;
        }
        else
        {
            tail.RunNext = p;
        }
        _tail[prio] = p;
        _bitmap[prio >> 6] |= 1UL << (prio & 63);
    }

    /// <summary>Insert p immediately before `before` (list_add_tail(&amp;p->run_list, &amp;before->run_list)).</summary>
    public void InsertBefore(TaskStruct p, TaskStruct before)
    {
        if (before.Array != this)
        {
            throw new KernelBug($"InsertBefore: {before} is not on this array");
        }
        int prio = before.Prio;
        p.Prio = prio;
        p.RunNext = before;
        p.RunPrev = before.RunPrev;
        if (before.RunPrev is null)
        {
            _head[prio] = p;
        }
        else
        {
            before.RunPrev.RunNext = p;
        }
        before.RunPrev = p;
        NrActive++;
        p.Array = this;
    }

    /// <summary>dequeue_task: unlink, clear the bitmap bit when the queue empties.</summary>
    public void Dequeue(TaskStruct p)
    {
        if (p.Array != this)
        {
            throw new KernelBug($"dequeue_task: {p} is not on this array");
        }
        int prio = p.Prio;
        Unlink(p, prio);
        NrActive--;
        p.Array = null;
    }

    /// <summary>requeue_task: list_move_tail within the same queue.</summary>
    public void Requeue(TaskStruct p)
    {
        int prio = p.Prio;
        if (_tail[prio] == p)
        {
            return;
        }
        Unlink(p, prio);
        LinkTail(p, prio);
    }

    private void Unlink(TaskStruct p, int prio)
    {
        if (p.RunPrev is null)
        {
            _head[prio] = p.RunNext;
        }
        else
        {
            p.RunPrev.RunNext = p.RunNext;
        }
        if (p.RunNext is null)
        {
            _tail[prio] = p.RunPrev;
        }
        else
        {
            p.RunNext.RunPrev = p.RunPrev;
        }
        p.RunNext = null;
        p.RunPrev = null;
        if (_head[prio] is null)
        {
            _bitmap[prio >> 6] &= ~(1UL << (prio & 63));
        }
    }

    /// <summary>All queued tasks, highest priority first, FIFO within a level.</summary>
    public IEnumerable<TaskStruct> Tasks()
    {
        for (int prio = 0; prio < MAX_PRIO; prio++)
        {
            for (var t = _head[prio]; t is not null; t = t.RunNext)
            {
                yield return t;
            }
        }
    }

    /// <summary>Checks bitmap bits against queues and nr_active against the count; returns problems.</summary>
    public IEnumerable<string> CheckInvariants(string name)
    {
        int total = 0;
        for (int prio = 0; prio < MAX_PRIO; prio++)
        {
            bool nonEmpty = _head[prio] is not null;
            if (nonEmpty != TestBit(prio))
            {
                yield return $"{name}: bitmap bit {prio} is {TestBit(prio)} but queue is {(nonEmpty ? "non-empty" : "empty")}";
            }
            TaskStruct? prev = null;
            for (var t = _head[prio]; t is not null; t = t.RunNext)
            {
                total++;
                if (t.Array != this)
                {
                    yield return $"{name}: {t} queued at {prio} but its array pointer is elsewhere";
                }
                if (t.Prio != prio)
                {
                    yield return $"{name}: {t} queued at {prio} but has prio {t.Prio}";
                }
                if (t.RunPrev != prev)
                {
                    yield return $"{name}: broken back link at {t}";
                }
                prev = t;
            }
            if (_tail[prio] != prev)
            {
                yield return $"{name}: tail of queue {prio} is wrong";
            }
        }
        if (!TestBit(MAX_PRIO))
        {
            yield return $"{name}: delimiter bit {MAX_PRIO} is clear";
        }
        if (total != NrActive)
        {
            yield return $"{name}: nr_active {NrActive} but {total} tasks queued";
        }
    }
}
