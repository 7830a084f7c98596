// Linux 2.6.20 kernel/futex.c, the priority-inheritance half: FUTEX_LOCK_PI, FUTEX_TRYLOCK_PI
// and FUTEX_UNLOCK_PI. The user word holds the owner's TID (plus FUTEX_WAITERS once someone
// sleeps, FUTEX_OWNER_DIED after a robust owner died); user space takes and releases an
// uncontended lock with a cmpxchg and calls the kernel only on contention. The first waiter
// creates a futex_pi_state whose rt_mutex is locked on behalf of the TID's task, so every waiter
// blocks on that rt_mutex and boosts the owner; unlock hands the word and the rt_mutex to the top
// waiter. exit_pi_state_list releases the rt_mutexes of a task that exits holding them.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Mm.Arch;
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Futex;

/// <summary>struct futex_pi_state: the rt_mutex of one contended PI futex, its owner and its key.</summary>
public sealed class FutexPiState(FutexKey key)
{
    public RtMutex PiMutex { get; } = new("futex_pi_state.pi_mutex");

    /// <summary>The task the word names (null once it died holding the lock).</summary>
    public TaskStruct? Owner { get; internal set; }

    public FutexKey Key { get; } = key;

    /// <summary>One reference per queued waiter.</summary>
    public int Refcount { get; internal set; } = 1;
}

public sealed partial class FutexTable
{
    /// <summary>The waiters bit of a PI or robust futex word.</summary>
    public const int FUTEX_WAITERS = unchecked((int)0x80000000);

    /// <summary>The owner died holding the lock (robust lists, exit_pi_state_list).</summary>
    public const int FUTEX_OWNER_DIED = 0x40000000;

    public const int FUTEX_TID_MASK = 0x3fffffff;

    /// <summary>
    /// futex_lock_pi: take the PI futex at `uaddr` for the executing task, sleeping on its
    /// rt_mutex (boosting the owner) until it is ours, the absolute simulated time `absTimeoutNs`
    /// passes (negative: none), or a signal (-EINTR, which the syscall restarts). With `trylock`
    /// it never sleeps (-EAGAIN, EWOULDBLOCK). -EDEADLK when we own it already or the chain of
    /// owners leads back to us; -ESRCH when the word names no live task; the key's -EFAULT/-EINVAL.
    /// </summary>
    public async ValueTask<long> LockPi(MmStruct mm, long uaddr, bool fshared, long absTimeoutNs, bool trylock)
    {
        var curr = _m.RequireExecuting();
        long err = mm.GetFutexKey(uaddr, fshared, out var key);
        if (err < 0)
        {
            return err;
        }
        var b = HashFutex(key);
        LockBucket(b);
        var q = new FutexQ(curr, key);
        // Try the 0 -> TID transition once more with every lock held: it will rarely succeed.
        if (Uaccess.CmpXchgUser(mm, uaddr, 0, curr.Pid, out int curval) < 0)
        {
            return Errno.EFAULT.Ret();
        }
        if ((curval & FUTEX_TID_MASK) == curr.Pid)
        {
            return Errno.EDEADLK.Ret();
        }
        if (curval == 0)
        {
            return 0;
        }
        int uval = curval;
        int newval = uval | FUTEX_WAITERS;
        Uaccess.CmpXchgUser(mm, uaddr, uval, newval, out curval);
        long ret = LookupPiState(uval, b, q);
        if (ret != 0)
        {
            // No waiter and no owner to find: a robust futex whose owner died is ours to take.
            if ((curval & FUTEX_OWNER_DIED) != 0)
            {
                Uaccess.CmpXchgUser(mm, uaddr, newval, curr.Pid | FUTEX_OWNER_DIED | FUTEX_WAITERS, out _);
                return 0;
            }
            return ret;
        }
        QueueMe(b, q);
        var pi = q.PiState!;
        if (!trylock)
        {
            long from = _m.Now;
            ret = await pi.PiMutex.TimedLock(_m, absTimeoutNs, detectDeadlock: true);
            if (Tracepoints.LockPi.Enabled)
            {
                Tracepoints.LockPi.Emit(new FutexLockPiEvent(_m.Now, _m.ThisCpu.Id, curr.Pid, key.ToString(), ret, _m.Now - from));
            }
        }
        else
        {
            ret = pi.PiMutex.TryLock(_m) ? 0 : Errno.EAGAIN.Ret();
        }
        LockBucket(HashFutex(q.Key));
        if (ret == 0 && pi.Owner != curr)
        {
            // We got the rt_mutex but the state still names the old owner (or none: it died).
            int newtid = curr.Pid | FUTEX_WAITERS | (pi.Owner is null ? FUTEX_OWNER_DIED : 0);
            SetPiOwner(pi, curr);
            UnqueueMePi(q);
            if (Uaccess.GetUser(mm, uaddr, out uval) < 0)
            {
                return Errno.EFAULT.Ret();
            }
            Uaccess.CmpXchgUser(mm, uaddr, uval, (uval & FUTEX_OWNER_DIED) | newtid, out _);
            return 0;
        }
        // The lock was released to us on our way back: take it now.
        if (ret != 0 && pi.Owner == curr && pi.PiMutex.TryLock(_m))
        {
            ret = 0;
        }
        UnqueueMePi(q);
        return ret == Errno.EINTR.Ret() ? Errno.ERESTARTNOINTR.Ret() : ret;
    }

    /// <summary>
    /// futex_unlock_pi: release the PI futex we own; the top waiter becomes the owner (its TID is
    /// written with FUTEX_WAITERS) and is woken, or the word goes to 0. -EPERM when the word does
    /// not name us.
    /// </summary>
    public long UnlockPi(MmStruct mm, long uaddr, bool fshared)
    {
        var curr = _m.RequireExecuting();
        if (Uaccess.GetUser(mm, uaddr, out int uval) < 0)
        {
            return Errno.EFAULT.Ret();
        }
        if ((uval & FUTEX_TID_MASK) != curr.Pid)
        {
            return Errno.EPERM.Ret();
        }
        long err = mm.GetFutexKey(uaddr, fshared, out var key);
        if (err < 0)
        {
            return err;
        }
        var b = HashFutex(key);
        LockBucket(b);
        // Try TID -> 0 again: with no waiter bit it succeeds and nobody needs waking.
        if ((uval & FUTEX_OWNER_DIED) == 0)
        {
            if (Uaccess.CmpXchgUser(mm, uaddr, curr.Pid, 0, out uval) < 0)
            {
                return Errno.EFAULT.Ret();
            }
            if (uval == curr.Pid)
            {
                return 0;
            }
        }
        foreach (var q in b.Chain)
        {
            if (q.Key == key)
            {
                return WakeFutexPi(mm, uaddr, uval, q);
            }
        }
        // No waiter: the kernel unlocks the word (the owner-died bit need not survive).
        if ((uval & FUTEX_OWNER_DIED) == 0)
        {
            if (Uaccess.CmpXchgUser(mm, uaddr, uval, 0, out int old) < 0)
            {
                return Errno.EFAULT.Ret();
            }
            if (old != uval)
            {
                return Errno.EAGAIN.Ret();
            }
        }
        return 0;
    }

    /// <summary>lookup_pi_state: join the pi_state of an existing waiter, or create one owned by the word's TID.</summary>
    private long LookupPiState(int uval, Bucket b, FutexQ me)
    {
        foreach (var q in b.Chain)
        {
            if (q.Key == me.Key)
            {
                if (q.PiState is null)
                {
                    return Errno.EINVAL.Ret(); // a FUTEX_WAIT waiter on a PI word: user space mixed the two
                }
                q.PiState.Refcount++;
                me.PiState = q.PiState;
                return 0;
            }
        }
        int pid = uval & FUTEX_TID_MASK;
        if (pid == 0 && (uval & FUTEX_OWNER_DIED) != 0)
        {
            return Errno.ESRCH.Ret();
        }
        var p = FutexFindGetTask(pid);
        if (p is null)
        {
            return Errno.ESRCH.Ret();
        }
        var pi = new FutexPiState(me.Key);
        pi.PiMutex.InitProxyLocked(p);
        SetPiOwner(pi, p);
        me.PiState = pi;
        return 0;
    }

    /// <summary>Move a pi_state from its owner's pi_state_list (if it has one) to `owner`'s.</summary>
    private static void SetPiOwner(FutexPiState pi, TaskStruct owner)
    {
        if (pi.Owner is { } old)
        {
            ProcessState.Of(old).PiStateList!.Remove(pi);
        }
        (ProcessState.Of(owner).PiStateList ??= new()).Add(pi);
        pi.Owner = owner;
    }

    /// <summary>futex_find_get_task: the TID's task, if it is live and ours to look at (same euid or uid).</summary>
    private TaskStruct? FutexFindGetTask(int pid)
    {
        var p = _m.Tasks.Find(pid);
        var curr = _m.RequireExecuting();
        if (p is null || p.ProcessData is null || (curr.Euid != p.Euid && curr.Euid != p.Uid) || p.ExitState != 0)
        {
            return null;
        }
        return p;
    }

    /// <summary>wake_futex_pi: write the next owner's TID, move the pi_state to it, and release the rt_mutex to it.</summary>
    private long WakeFutexPi(MmStruct mm, long uaddr, int uval, FutexQ me)
    {
        var pi = me.PiState;
        if (pi is null)
        {
            return Errno.EINVAL.Ret();
        }
        var curr = _m.RequireExecuting();
        if (pi.Owner != curr || pi.PiMutex.Owner != curr)
        {
            return Errno.EINVAL.Ret(); // the word names us but the lock's state does not (later kernels check this too)
        }
        // A waiter that stole the lock and did not requeue leaves no rt_mutex waiter: the futex_q's task takes it.
        var newOwner = pi.PiMutex.NextOwner() ?? me.Task;
        if ((uval & FUTEX_OWNER_DIED) == 0)
        {
            if (Uaccess.CmpXchgUser(mm, uaddr, uval, FUTEX_WAITERS | newOwner.Pid, out int cur) < 0)
            {
                return Errno.EFAULT.Ret();
            }
            if (cur != uval)
            {
                return Errno.EINVAL.Ret();
            }
        }
        SetPiOwner(pi, newOwner);
        pi.PiMutex.Unlock(_m);
        return 0;
    }

    /// <summary>unqueue_me_pi: a PI waiter leaves its chain and drops its pi_state reference.</summary>
    private void UnqueueMePi(FutexQ q)
    {
        HashFutex(q.Key).Chain.Remove(q.Node!);
        q.Node = null;
        FreePiState(q.PiState!);
        q.PiState = null;
    }

    /// <summary>free_pi_state: the last reference detaches the state from its owner and releases the rt_mutex.</summary>
    private static void FreePiState(FutexPiState pi)
    {
        if (--pi.Refcount > 0)
        {
            return;
        }
        if (pi.Owner is { } owner)
        {
            ProcessState.Of(owner).PiStateList!.Remove(pi);
            pi.PiMutex.ProxyUnlock();
        }
    }

    /// <summary>
    /// exit_pi_state_list: the exiting task still owns contended PI futexes; each loses its owner
    /// (the next one will see FUTEX_OWNER_DIED) and its rt_mutex goes to the top waiter.
    /// </summary>
    internal void ExitPiStateList(TaskStruct curr)
    {
        var list = ProcessState.Of(curr).PiStateList;
        while (list is { Count: > 0 })
        {
            var pi = list[^1];
            LockBucket(HashFutex(pi.Key));
            list.RemoveAt(list.Count - 1);
            pi.Owner = null;
            pi.PiMutex.Unlock(_m);
        }
    }
}
