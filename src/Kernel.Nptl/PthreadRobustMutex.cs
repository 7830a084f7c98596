// A PTHREAD_MUTEX_ROBUST mutex: the word holds the owner's TID (FUTEX_WAITERS when someone
// sleeps) and the mutex carries a robust_list node that the owner links into its thread's robust
// list while it holds the lock. If the owner dies, the kernel's exit_robust_list sets
// FUTEX_OWNER_DIED and wakes a waiter; the next lock then succeeds with EOWNERDEAD, telling the
// caller the protected data may be inconsistent. Layout: the node (one pointer) at Addr, the
// word 8 bytes on (the head's futex_offset). Each thread registers its list head once
// (RobustList.Register), as glibc does at thread start.
using Kernel.Core;
using Kernel.Syscalls;

namespace Kernel.Nptl;

/// <summary>A thread's robust_list_head: { list.next, futex_offset, list_op_pending }.</summary>
public sealed class RobustList
{
    /// <summary>futex_offset: from a node to its futex word.</summary>
    public const int FutexOffset = 8;

    private RobustList(long head) => Head = head;

    public long Head { get; }

    /// <summary>Allocate and register the calling thread's list head (set_robust_list).</summary>
    public static async ValueTask<RobustList> Register(UserTask self, UserHeap heap)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(heap);
        long head = heap.Alloc(UserTask.RobustListHeadSize);
        await self.Store(head, (int)head); // an empty circular list points at itself
        await self.Store(head + 4, FutexOffset);
        await self.Store(head + 8, 0);
        long r = self.SetRobustList(head, UserTask.RobustListHeadSize);
        if (r < 0)
        {
            throw new InvalidOperationException($"set_robust_list failed: {r}");
        }
        return new RobustList(head);
    }
}

public sealed class PthreadRobustMutex
{
    private PthreadRobustMutex(long node) => Node = node;

    /// <summary>The robust_list node; the futex word is at Node + RobustList.FutexOffset.</summary>
    public long Node { get; }

    public long Word => Node + RobustList.FutexOffset;

    public static PthreadRobustMutex Create(UserHeap heap)
    {
        ArgumentNullException.ThrowIfNull(heap);
        return new PthreadRobustMutex(heap.Alloc(RobustList.FutexOffset + sizeof(int)));
    }

    /// <summary>0, or -EOWNERDEAD when the previous owner died holding it (the lock is ours either way).</summary>
    public async ValueTask<long> Lock(UserTask self, RobustList list)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(list);
        int tid = (int)self.Gettid();
        await self.Store(list.Head + 8, (int)Node); // list_op_pending: covers a death mid-lock
        long result = 0;
        while (true)
        {
            int c = await self.CompareExchange(Word, 0, tid);
            if (c == 0)
            {
                break;
            }
            if ((c & FutexOp.FUTEX_OWNER_DIED) != 0 && (c & FutexOp.FUTEX_TID_MASK) == 0)
            {
                // The owner died: take it over, keeping the waiters bit for those still asleep.
                if (await self.CompareExchange(Word, c, tid | (c & FutexOp.FUTEX_WAITERS)) == c)
                {
                    result = Errno.EOWNERDEAD.Ret();
                    break;
                }
                continue;
            }
            int w = c | FutexOp.FUTEX_WAITERS;
            if (c == w || await self.CompareExchange(Word, c, w) == c)
            {
                await self.Futex(Word, FutexOp.FUTEX_WAIT, w);
            }
            tid |= FutexOp.FUTEX_WAITERS; // once we slept, others may too: keep the bit when we take it
        }
        // Link the node at the head of the thread's list, then clear list_op_pending.
        await self.Store(Node, await self.Load<int>(list.Head));
        await self.Store(list.Head, (int)Node);
        await self.Store(list.Head + 8, 0);
        return result;
    }

    /// <summary>Unlink the node, release the word, and wake one waiter if the waiters bit was set.</summary>
    public async ValueTask Unlock(UserTask self, RobustList list)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(list);
        await self.Store(list.Head + 8, (int)Node);
        long prev = list.Head;
        for (int i = 0; i < 4096; i++)
        {
            int next = await self.Load<int>(prev);
            if (next == (int)list.Head)
            {
                break;
            }
            if (next == (int)Node)
            {
                await self.Store(prev, await self.Load<int>(Node));
                break;
            }
            prev = next;
        }
        int old = await self.Exchange(Word, 0);
        await self.Store(list.Head + 8, 0);
        if ((old & FutexOp.FUTEX_WAITERS) != 0)
        {
            await self.Futex(Word, FutexOp.FUTEX_WAKE, 1);
        }
    }
}
