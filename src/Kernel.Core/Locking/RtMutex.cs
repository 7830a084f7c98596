// Linux 2.6.20 kernel/rtmutex.c: the priority-inheriting mutex behind PI futexes. A task that
// blocks queues an rt_mutex_waiter on the lock's wait list (by priority) and, when it is the
// lock's top waiter, on the owner's pi_waiters; the owner then runs at the best of its own
// normal_prio and its top pi waiter's priority (rt_mutex_getprio). If the owner is itself
// blocked, rt_mutex_adjust_prio_chain walks the chain of owners (at most max_lock_depth steps),
// requeueing and boosting each, and reports a cycle as -EDEADLK. Unlock makes the top waiter the
// "pending owner" and wakes it; until it runs, a task of better priority may steal the lock.
// The model runs every step between two sleeps atomically, so wait_lock and pi_lock are charged
// as one short hold and the chain walk never has to retry.
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Core.Locking;

/// <summary>struct rt_mutex_waiter: a blocked task, its lock, and its place on the two lists.</summary>
public sealed class RtMutexWaiter
{
    /// <summary>The blocked task; null once it was made the pending owner (or removed).</summary>
    public TaskStruct? Task { get; internal set; }

    public RtMutex Lock { get; internal set; } = null!;

    /// <summary>list_entry.prio: its priority on the lock's wait list.</summary>
    public int ListPrio { get; internal set; }

    /// <summary>pi_list_entry.prio: its priority on the owner's pi_waiters.</summary>
    public int PiListPrio { get; internal set; }
}

public sealed class RtMutex(string name = "rt_mutex")
{
    /// <summary>max_lock_depth (/proc/sys/kernel/max_lock_depth): the longest chain walked.</summary>
    public const int MaxLockDepth = 1024;

    /// <summary>The cost of one wait_lock (and pi_lock) hold.</summary>
    public const long WaitLockHoldNs = 30;

    public string Name { get; } = name;

    public KSpinLock WaitLock { get; } = new($"{name}.wait_lock");

    /// <summary>rt_mutex_owner: the owner, or the pending owner a release chose.</summary>
    public TaskStruct? Owner { get; private set; }

    /// <summary>RT_MUTEX_OWNER_PENDING: the owner was woken to take the lock and has not yet.</summary>
    public bool OwnerPending { get; private set; }

    internal Plist<RtMutexWaiter> WaitList { get; } = new();

    public bool HasWaiters => !WaitList.IsEmpty;

    private RtMutexWaiter TopWaiter => WaitList.First!;

    /// <summary>rt_mutex_init_proxy_locked: start locked on behalf of `owner` (PI futexes).</summary>
    public void InitProxyLocked(TaskStruct owner)
    {
        Owner = owner;
        OwnerPending = false;
    }

    /// <summary>rt_mutex_proxy_unlock: release on behalf of an owner, with no waiter to hand over to.</summary>
    public void ProxyUnlock()
    {
        Owner = null;
        OwnerPending = false;
    }

    /// <summary>rt_mutex_next_owner: the top waiter's task, or null.</summary>
    public TaskStruct? NextOwner() => WaitList.First?.Task;

    // ------------------------------------------------------------------ priorities

    /// <summary>rt_mutex_getprio: normal_prio, or the top pi waiter's priority when better.</summary>
    public static int GetPrio(TaskStruct task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var w = task.PiWaitersOrNull;
        return w is null || w.IsEmpty ? task.NormalPrio : Math.Min(w.FirstPrio, task.NormalPrio);
    }

    /// <summary>__rt_mutex_adjust_prio: boost or unboost through the scheduler's rt_mutex_setprio.</summary>
    private static void AdjustPrio(Machine m, TaskStruct task)
    {
        int prio = GetPrio(task);
        if (task.Prio != prio)
        {
            m.Scheduler.RtMutexSetprio(task, prio);
        }
    }

    /// <summary>rt_mutex_adjust_pi: after sched_setscheduler changed a blocked task's priority, redo its chain.</summary>
    public static void AdjustPi(Machine m, TaskStruct task)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(task);
        var waiter = task.PiBlockedOn;
        if (waiter is null || waiter.ListPrio == task.Prio)
        {
            return;
        }
        AdjustPrioChain(m, task, detect: false, null, null, task);
    }

    /// <summary>rt_mutex_adjust_prio_chain: 0, or -EDEADLK when the chain leads back to `topTask` (and `detect`).</summary>
    private static long AdjustPrioChain(Machine m, TaskStruct task, bool detect, RtMutex? origLock, RtMutexWaiter? origWaiter, TaskStruct topTask)
    {
        var topWaiter = origWaiter;
        for (int depth = 1; ; depth++)
        {
            if (depth > MaxLockDepth)
            {
                m.RecordWarning(m.ThisCpu, $"Maximum lock depth {MaxLockDepth} reached task: {topTask.Comm} ({topTask.Pid})");
                return detect ? Errno.EDEADLK.Ret() : 0;
            }
            var waiter = task.PiBlockedOn;
            // The end of the chain, or it changed since the previous step.
            if (waiter?.Task is null)
            {
                return 0;
            }
            if (topWaiter is not null && (task.PiWaitersOrNull is not { IsEmpty: false } pw || topWaiter != pw.First))
            {
                return 0;
            }
            if (!detect && waiter.ListPrio == task.Prio)
            {
                return 0;
            }
            var lk = waiter.Lock;
            m.ChargeLock(lk.WaitLock, m.ThisCpu, WaitLockHoldNs);
            if (lk == origLock || lk.Owner == topTask)
            {
                return detect ? Errno.EDEADLK.Ret() : 0;
            }
            topWaiter = lk.TopWaiter;
            lk.WaitList.Remove(waiter);
            waiter.ListPrio = task.Prio;
            lk.WaitList.Add(waiter.ListPrio, waiter);
            task = lk.Owner!;
            var owned = task.PiWaiters;
            if (waiter == lk.TopWaiter)
            {
                owned.Remove(topWaiter);
                waiter.PiListPrio = waiter.ListPrio;
                owned.Add(waiter.PiListPrio, waiter);
                AdjustPrio(m, task);
            }
            else if (topWaiter == waiter)
            {
                owned.Remove(waiter);
                waiter = lk.TopWaiter;
                waiter.PiListPrio = waiter.ListPrio;
                owned.Add(waiter.PiListPrio, waiter);
                AdjustPrio(m, task);
            }
            topWaiter = lk.TopWaiter;
            if (!detect && waiter != topWaiter)
            {
                return 0;
            }
        }
    }

    // ------------------------------------------------------------------ taking the lock

    /// <summary>try_to_steal_lock: a task of better priority than the pending owner takes it over.</summary>
    private bool TryToSteal(Machine m, TaskStruct curr)
    {
        var pend = Owner!;
        if (!OwnerPending)
        {
            return false;
        }
        if (pend == curr)
        {
            return true;
        }
        if (curr.Prio >= pend.Prio)
        {
            return false;
        }
        if (!HasWaiters)
        {
            return true;
        }
        // The top waiter was queued on the pending owner's pi_waiters: it moves to the thief.
        var next = TopWaiter;
        pend.PiWaiters.Remove(next);
        AdjustPrio(m, pend);
        if (next.Task != curr)
        {
            curr.PiWaiters.Add(next.PiListPrio, next);
            AdjustPrio(m, curr);
        }
        return true;
    }

    /// <summary>try_to_take_rt_mutex: fails while there is a real owner, or a pending owner of at least our priority.</summary>
    private bool TryToTake(Machine m, TaskStruct curr)
    {
        if (Owner is not null && !TryToSteal(m, curr))
        {
            return false;
        }
        Owner = curr;
        OwnerPending = false;
        return true;
    }

    /// <summary>task_blocks_on_rt_mutex: queue the waiter, boost the owner if it is the new top waiter, walk the chain.</summary>
    private long TaskBlocksOn(Machine m, TaskStruct curr, RtMutexWaiter waiter, bool detect)
    {
        var owner = Owner!;
        AdjustPrio(m, curr);
        waiter.Task = curr;
        waiter.Lock = this;
        waiter.ListPrio = waiter.PiListPrio = curr.Prio;
        var top = HasWaiters ? TopWaiter : waiter;
        WaitList.Add(waiter.ListPrio, waiter);
        curr.PiBlockedOn = waiter;
        bool chainWalk = false;
        if (waiter == TopWaiter)
        {
            owner.PiWaiters.Remove(top);
            owner.PiWaiters.Add(waiter.PiListPrio, waiter);
            AdjustPrio(m, owner);
            chainWalk = owner.PiBlockedOn is not null;
        }
        else
        {
            chainWalk = detect;
        }
        return chainWalk ? AdjustPrioChain(m, owner, detect, this, waiter, curr) : 0;
    }

    /// <summary>remove_waiter: a waiter that gave up (signal, timeout, deadlock) leaves, and the owner's boost is redone.</summary>
    private void RemoveWaiter(Machine m, TaskStruct curr, RtMutexWaiter waiter)
    {
        bool first = waiter == TopWaiter;
        var owner = Owner;
        WaitList.Remove(waiter);
        waiter.Task = null;
        curr.PiBlockedOn = null;
        if (!first || owner is null || owner == curr)
        {
            return;
        }
        owner.PiWaiters.Remove(waiter);
        if (HasWaiters)
        {
            var next = TopWaiter;
            owner.PiWaiters.Add(next.PiListPrio, next);
        }
        AdjustPrio(m, owner);
        if (owner.PiBlockedOn is not null)
        {
            AdjustPrioChain(m, owner, detect: false, this, null, curr);
        }
    }

    /// <summary>
    /// rt_mutex_timed_lock (TASK_INTERRUPTIBLE): 0 once the lock is ours, -EINTR on a signal,
    /// -ETIMEDOUT when the absolute simulated time `absTimeoutNs` passes (negative: none),
    /// -EDEADLK when `detectDeadlock` and the chain of owners comes back to us.
    /// </summary>
    public async ValueTask<long> TimedLock(Machine m, long absTimeoutNs, bool detectDeadlock)
    {
        ArgumentNullException.ThrowIfNull(m);
        await m.MightSleep();
        var curr = m.RequireExecuting();
        m.ChargeLock(WaitLock, m.ThisCpu, WaitLockHoldNs);
        if (TryToTake(m, curr))
        {
            return 0;
        }
        curr.State = TaskState.TASK_INTERRUPTIBLE;
        // The hrtimer_sleeper: process_timeout wakes us, and a timer no longer pending has fired.
        KTimer? timer = null;
        if (absTimeoutNs >= 0)
        {
            timer = new KTimer(ScheduleTimeoutOps.ProcessTimeout, curr);
            timer.Start(m, Math.Max(absTimeoutNs, m.Now));
        }
        var waiter = new RtMutexWaiter();
        long ret = 0;
        while (true)
        {
            if (TryToTake(m, curr))
            {
                break;
            }
            if (Machine.SignalPending(curr))
            {
                ret = Errno.EINTR.Ret();
            }
            if (timer is { Pending: false })
            {
                ret = Errno.ETIMEDOUT.Ret();
            }
            if (ret != 0)
            {
                break;
            }
            // waiter.Task is null the first time, and after a release chose us but the lock was stolen.
            if (waiter.Task is null)
            {
                ret = TaskBlocksOn(m, curr, waiter, detectDeadlock);
                if (ret != 0)
                {
                    break;
                }
            }
            await m.Schedule();
            m.ChargeLock(WaitLock, m.ThisCpu, WaitLockHoldNs);
            curr.State = TaskState.TASK_INTERRUPTIBLE;
        }
        curr.State = TaskState.TASK_RUNNING;
        if (waiter.Task is not null)
        {
            RemoveWaiter(m, curr, waiter);
        }
        timer?.Del(m);
        if (ret != 0)
        {
            // We may have been the pending owner, boosted by the waiters behind us: that boost goes.
            AdjustPrio(m, curr);
        }
        return ret;
    }

    /// <summary>rt_mutex_trylock: true if the lock was free (or pending for a task we outrank) and is ours now.</summary>
    public bool TryLock(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var curr = m.RequireExecuting();
        m.ChargeLock(WaitLock, m.ThisCpu, WaitLockHoldNs);
        return Owner != curr && TryToTake(m, curr);
    }

    /// <summary>
    /// rt_mutex_unlock: hand the lock to the top waiter as pending owner and wake it, then drop
    /// whatever boost the releasing owner had.
    /// </summary>
    public void Unlock(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var curr = m.RequireExecuting();
        if (Owner != curr)
        {
            throw new KernelBug($"BUG: rt_mutex_unlock of {Name} by non-owner {curr} (owner {Owner})", m.DumpState(curr));
        }
        m.ChargeLock(WaitLock, m.ThisCpu, WaitLockHoldNs);
        if (!HasWaiters)
        {
            Owner = null;
            OwnerPending = false;
            return;
        }
        WakeupNextWaiter(m, curr);
        AdjustPrio(m, curr);
    }

    /// <summary>wakeup_next_waiter: the top waiter leaves both lists, becomes the pending owner, and is woken.</summary>
    private void WakeupNextWaiter(Machine m, TaskStruct curr)
    {
        var waiter = TopWaiter;
        WaitList.Remove(waiter);
        curr.PiWaiters.Remove(waiter);
        var pend = waiter.Task!;
        waiter.Task = null;
        Owner = pend;
        OwnerPending = true;
        pend.PiBlockedOn = null;
        // The next waiter now boosts the pending owner, so it is not stuck behind an unboosted one.
        if (HasWaiters)
        {
            var next = TopWaiter;
            pend.PiWaiters.Add(next.PiListPrio, next);
        }
        m.WakeUpProcess(pend);
    }

    /// <summary>Waiters are sorted and blocked on this lock; a lock with waiters has an owner.</summary>
    public IEnumerable<string> CheckInvariants()
    {
        int last = int.MinValue;
        foreach (var (prio, w) in WaitList.Entries)
        {
            if (prio < last)
            {
                yield return $"{Name}: wait list out of priority order";
            }
            last = prio;
            if (w.Task is null || w.Task.PiBlockedOn != w || w.Lock != this)
            {
                yield return $"{Name}: waiter of {w.Task} is not blocked on this lock";
            }
        }
        if (HasWaiters && Owner is null)
        {
            yield return $"{Name}: waiters but no owner";
        }
    }
}
