// Linux 2.4 kernel/sched.c, for comparison with the O(1) scheduler: one global runqueue list
// guarded by one global lock, schedule() scanning every runnable task with goodness(), and an
// epoch recalculation of every task's counter when all runnable counters reach zero. Its cost
// grows with the number of runnable tasks (charged per task examined), and every CPU's
// schedule() serialises on the one lock: both are the seeds' case for the O(1) design.
// Modelled from 2.4.20: goodness, reschedule_idle, NICE_TO_TICKS, PROC_CHANGE_PENALTY (i386).
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Sched;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Sched.O1;

namespace Kernel.Sched.Goodness;

public sealed class GoodnessScheduler : IScheduler
{
    /// <summary>Bonus for staying on the CPU the task last ran on (include/asm-i386/smp.h).</summary>
    public const int PROC_CHANGE_PENALTY = 15;

    private readonly PrioArray _onRunqueue = new(); // marker: p.Array == this means "on runqueue_head"
    private Machine _m = null!;
    private TaskStruct? _head;
    private TaskStruct? _tail;
    private readonly List<TaskStruct> _allTasks = new();
    private long[] _lastSchedule = [];
    private long[] _switches = [];
    private readonly HashSet<TaskStruct> _yielded = new();

    public string Name => "goodness";

    /// <summary>runqueue_lock: the one lock every CPU's schedule() and every wake-up take.</summary>
    public KSpinLock RunqueueLock { get; } = new("runqueue_lock");

    public int NrRunnable { get; private set; }

    public long Recalculations { get; private set; }

    public void Init(Machine machine)
    {
        _m = machine;
        _lastSchedule = new long[machine.Cpus.Length];
        _switches = new long[machine.Cpus.Length];
    }

    public void InitIdle(TaskStruct idle, Cpu cpu)
    {
        idle.StaticPrio = idle.Prio = idle.NormalPrio = PrioArray.MAX_PRIO;
        idle.Counter = 0;
    }

    public void StartKernelThreads()
    {
        // 2.4 had no per-CPU migration threads.
    }

    /// <summary>NICE_TO_TICKS: the counter refill for a nice level at this HZ.</summary>
    public int NiceToTicks(int nice)
    {
        int x = 20 - nice;
        int hz = _m.Hz.Value;
        int scaled = hz < 200 ? x >> 2 : hz < 400 ? x >> 1 : hz < 800 ? x : x << 1;
        return scaled + 1;
    }

    private int MaxCounter => 20 * _m.Hz.Value / 100;

    public void InitTask(TaskStruct p, int nice)
    {
        p.StaticPrio = 120 + nice;
        p.Prio = p.NormalPrio = p.StaticPrio;
        p.Counter = NiceToTicks(nice);
        _allTasks.Add(p);
    }

    // ------------------------------------------------------------------ the runqueue list

    private void AddToRunqueue(TaskStruct p)
    {
        LinkHead(p); // list_add: new runnable tasks go to the front
        p.Array = _onRunqueue;
        NrRunnable++;
    }

    private void DelFromRunqueue(TaskStruct p)
    {
        Unlink(p);
        p.Array = null;
        NrRunnable--;
    }

    private void MoveLast(TaskStruct p)
    {
        Unlink(p);
        p.RunPrev = _tail;
        p.RunNext = null;
        if (_tail is null)
        {
            _head = p;
        }
        else
        {
            _tail.RunNext = p;
        }
        _tail = p;
    }

    private void MoveFirst(TaskStruct p)
    {
        Unlink(p);
        LinkHead(p);
    }

    private void LinkHead(TaskStruct p)
    {
        p.RunPrev = null;
        p.RunNext = _head;
        if (_head is null)
        {
            _tail = p;
        }
        else
        {
            _head.RunPrev = p;
        }
        _head = p;
    }

    private void Unlink(TaskStruct p)
    {
        if (p.RunPrev is null)
        {
            _head = p.RunNext;
        }
        else
        {
            p.RunPrev.RunNext = p.RunNext;
        }
        if (p.RunNext is null)
        {
            _tail = p.RunPrev;
        }
        else
        {
            p.RunNext.RunPrev = p.RunPrev;
        }
        p.RunNext = p.RunPrev = null;
    }

    /// <summary>`leaving`: p is being switched out (__schedule_tail), so its CPU no longer counts as holding it.</summary>
    private bool RunningElsewhere(TaskStruct p, int cpu, bool leaving = false) => !leaving && p.Cpu != cpu && _m.Cpus[p.Cpu].Curr == p;

    private bool CanSchedule(TaskStruct p, int cpu, bool leaving = false) => p.CpusAllowed.IsSet(cpu) && !RunningElsewhere(p, cpu, leaving);

    /// <summary>goodness(): 1000+rt_priority for RT, counter + affinity bonuses + (20-nice) otherwise.</summary>
    public int Goodness(TaskStruct p, int thisCpu, TaskStruct prev)
    {
        if (_yielded.Contains(p))
        {
            return -1;
        }
        if (p.Policy is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR)
        {
            return 1000 + Math.Max(p.RtPriority, BoostedRtPriority(p));
        }
        if (p.Prio < SchedParams.MAX_RT_PRIO)
        {
            return 1000 + BoostedRtPriority(p); // a PI boost runs an ordinary task as RT
        }
        int weight = p.Counter;
        if (weight == 0)
        {
            return 0;
        }
        if (p.Cpu == thisCpu)
        {
            weight += PROC_CHANGE_PENALTY;
        }
        if (p.Mm == prev.Mm || p.Mm is null)
        {
            weight += 1; // same mm (no TLB flush), or a kernel thread that borrows any mm
        }
        return weight + 20 - p.Nice;
    }

    /// <summary>The rt_priority a PI-boosted prio stands for (2.4 had no PI: prio 0..99 maps back to 99..0).</summary>
    private static int BoostedRtPriority(TaskStruct p) => p.Prio < SchedParams.MAX_RT_PRIO ? SchedParams.MAX_RT_PRIO - 1 - p.Prio : 0;

    // ------------------------------------------------------------------ IScheduler

    public void SchedulerTick(Cpu cpu)
    {
        var p = cpu.Curr;
        if (p.IsIdleTask)
        {
            return;
        }
        if (--p.Counter <= 0)
        {
            p.Counter = 0;
            Machine.SetNeedResched(p);
        }
    }


    public TaskStruct Schedule(Cpu cpu, TaskStruct prev)
    {
        int thisCpu = cpu.Id;
        long hold = _m.Costs.RunqueueLockHoldNs;
        if (!prev.IsIdleTask && prev.Policy == SchedPolicy.SCHED_RR && prev.Counter == 0)
        {
            prev.Counter = NiceToTicks(prev.Nice);
            if (prev.Array is not null)
            {
                MoveLast(prev);
            }
        }
        if (!prev.IsIdleTask && prev.State != TaskState.TASK_RUNNING && (prev.PreemptCount & PreemptCount.PREEMPT_ACTIVE) == 0)
        {
            if ((prev.State & TaskState.TASK_INTERRUPTIBLE) != 0 && Machine.SignalPending(prev))
            {
                prev.State = TaskState.TASK_RUNNING;
            }
            else if (prev.Array is not null)
            {
                DelFromRunqueue(prev);
            }
        }
        TaskStruct next;
        int examined = 0;
        long recalcNs = 0;
        while (true)
        {
            next = cpu.Idle;
            int c = -1000;
            for (var p = _head; p is not null; p = p.RunNext)
            {
                examined++;
                if (!CanSchedule(p, thisCpu))
                {
                    continue;
                }
                int weight = Goodness(p, thisCpu, prev);
                if (weight > c)
                {
                    c = weight;
                    next = p;
                }
            }
            if (c != 0)
            {
                break;
            }
            // Every runnable counter is spent: a new epoch for every task in the system. 2.4.20
            // drops runqueue_lock for this and walks the tasks under read_lock(&tasklist_lock),
            // so the walk costs this CPU time but does not hold the runqueue lock.
            Recalculations++;
            long walked = 0;
            foreach (var t in _allTasks)
            {
                if (t.ExitState == 0)
                {
                    t.Counter = (t.Counter >> 1) + NiceToTicks(t.Nice);
                }
                walked++;
            }
            recalcNs += walked * _m.Costs.GoodnessPerTaskNs;
        }
        hold += examined * _m.Costs.GoodnessPerTaskNs;
        _m.ChargeLock(RunqueueLock, cpu, hold);
        _m.Charge(recalcNs);
        bool prevYielded = _yielded.Contains(prev);
        _yielded.Remove(prev);
        Machine.ClearNeedResched(prev);
        if (next != prev)
        {
            if (next.Cpu != thisCpu && !next.IsIdleTask)
            {
                _m.Trace.OnSchedMigrateTask(_m.Now, thisCpu, next, next.Cpu, thisCpu);
                next.Migrations++;
                next.Cpu = thisCpu;
            }
            _switches[thisCpu]++;
            _lastSchedule[thisCpu] = _m.Now;
            // __schedule_tail: a prev that is still runnable (preempted, or no longer allowed
            // here) looks for an idle CPU at once, unless it yielded.
            if (!prev.IsIdleTask && prev.State == TaskState.TASK_RUNNING && prev.Array is not null && !prevYielded)
            {
                RescheduleIdle(prev, leaving: true);
            }
        }
        return next;
    }

    public bool TryToWakeUp(TaskStruct p, TaskState stateMask, bool sync)
    {
        if ((p.State & stateMask) == 0 || p.ExitState != 0)
        {
            return false;
        }
        _m.Charge(_m.Costs.WakeupNs);
        _m.ChargeLock(RunqueueLock, _m.ThisCpu, _m.Costs.RunqueueLockHoldNs);
        p.State = TaskState.TASK_RUNNING;
        bool success = false;
        if (p.Array is null)
        {
            AddToRunqueue(p);
            if (!sync || !p.CpusAllowed.IsSet(_m.ThisCpu.Id))
            {
                RescheduleIdle(p);
            }
            success = true;
        }
        _m.Trace.OnSchedWakeup(_m.Now, _m.ThisCpu.Id, p, success, isNew: false);
        return success;
    }

    /// <summary>reschedule_idle: prefer the task's last CPU if idle, else the longest-idle CPU, else preempt the worst.</summary>
    private void RescheduleIdle(TaskStruct p, bool leaving = false)
    {
        int best = p.Cpu;
        if (CanSchedule(p, best, leaving) && _m.Cpus[best].IsIdle)
        {
            _m.ReschedTask(_m.Cpus[best].Curr);
            return;
        }
        long oldestIdle = long.MaxValue;
        TaskStruct? target = null;
        int maxPrio = 0;
        foreach (var cpu in _m.Cpus)
        {
            if (!CanSchedule(p, cpu.Id, leaving))
            {
                continue;
            }
            var tsk = cpu.Curr;
            if (tsk.IsIdleTask)
            {
                if (_lastSchedule[cpu.Id] < oldestIdle)
                {
                    oldestIdle = _lastSchedule[cpu.Id];
                    target = tsk;
                }
            }
            else if (oldestIdle == long.MaxValue)
            {
                int prio = Goodness(p, cpu.Id, tsk) - Goodness(tsk, cpu.Id, tsk);
                if (prio > maxPrio)
                {
                    maxPrio = prio;
                    target = tsk;
                }
            }
        }
        if (target is not null)
        {
            _m.ReschedTask(target);
        }
    }

    public void SchedFork(TaskStruct child, TaskStruct parent, CloneFlags flags)
    {
        child.Policy = parent.Policy;
        child.RtPriority = parent.RtPriority;
        child.StaticPrio = child.Prio = child.NormalPrio = parent.StaticPrio;
        child.CpusAllowed = parent.CpusAllowed;
        child.Cpu = parent.Cpu;
        child.State = TaskState.TASK_RUNNING;
        _m.SchedForkPreemptCount(child); // the preempt patch's do_fork; schedule_tail drops it
        child.Counter = (parent.Counter + 1) >> 1;
        parent.Counter >>= 1;
        if (parent.Counter == 0)
        {
            Machine.SetNeedResched(parent);
        }
        _allTasks.Add(child);
    }

    public void WakeUpNewTask(TaskStruct child, TaskStruct parent, CloneFlags flags)
    {
        child.State = TaskState.TASK_INTERRUPTIBLE;
        TryToWakeUp(child, TaskState.TASK_INTERRUPTIBLE, sync: false);
    }

    /// <summary>
    /// 2.4 from a shell: the shell's counter after its sleeps has grown to about twice
    /// NICE_TO_TICKS(0) (counter = counter/2 + NICE_TO_TICKS at every recalculation), and the
    /// fork gives the child half of it; the wake-up then competes through goodness().
    /// </summary>
    public void SpawnFromShell(TaskStruct p, int nice)
    {
        InitTask(p, nice);
        p.Counter = NiceToTicks(0);
        WakeUpSpawned(p);
    }

    public void WakeUpSpawned(TaskStruct p)
    {
        int best = p.CpusAllowed.And(_m.OnlineMask).First;
        foreach (var cpu in _m.Cpus)
        {
            if (p.CpusAllowed.IsSet(cpu.Id) && cpu.IsIdle)
            {
                best = cpu.Id;
                break;
            }
        }
        p.Cpu = best;
        p.State = TaskState.TASK_INTERRUPTIBLE;
        TryToWakeUp(p, TaskState.TASK_INTERRUPTIBLE, sync: false);
    }

    public void SchedExit(TaskStruct p)
    {
        _allTasks.Remove(p);
        // release_task: the parent inherits the dead child's remaining counter.
        if (p.Parent is { } parent && !parent.IsIdleTask)
        {
            parent.Counter = Math.Min(parent.Counter + p.Counter, MaxCounter);
        }
    }

    /// <summary>
    /// sys_sched_yield (2.4.20): only when some runnable task is not already on a CPU
    /// (nr_pending); SCHED_OTHER gets SCHED_YIELD (goodness -1 for one pass), an RT task only
    /// goes to the back of the run list and keeps its 1000 + rt_priority.
    /// </summary>
    public void Yield(TaskStruct p)
    {
        int nrPending = NrRunnable;
        foreach (var c in _m.Cpus)
        {
            if (!c.Curr.IsIdleTask)
            {
                nrPending--;
            }
        }
        if (nrPending > 0)
        {
            if (p.Policy == SchedPolicy.SCHED_NORMAL || p.Policy == SchedPolicy.SCHED_BATCH)
            {
                _yielded.Add(p);
            }
            Machine.SetNeedResched(p);
            if (p.Array is not null)
            {
                MoveLast(p);
            }
        }
    }

    public void SetUserNice(TaskStruct p, int nice)
    {
        p.StaticPrio = 120 + nice;
        if (!p.IsRtPolicy)
        {
            p.NormalPrio = p.StaticPrio;
        }
        p.Prio = RtMutex.GetPrio(p);
    }

    public void SetScheduler(TaskStruct p, SchedPolicy policy, int rtPriority)
    {
        p.Policy = policy;
        p.RtPriority = rtPriority;
        p.NormalPrio = policy is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR ? 99 - rtPriority : p.StaticPrio;
        p.Prio = RtMutex.GetPrio(p);
        if (p.Array is not null)
        {
            MoveFirst(p);
        }
        _m.ReschedTask(_m.ThisCpu.Curr);
    }

    /// <summary>rt_mutex_setprio for 2.4's goodness: the boosted prio counts in goodness(); a boosted task moves to the front.</summary>
    public void RtMutexSetprio(TaskStruct p, int prio)
    {
        p.Prio = prio;
        if (p.Array is not null)
        {
            MoveFirst(p);
        }
        _m.ReschedTask(_m.ThisCpu.Curr);
    }

    public ValueTask<long> SetCpusAllowed(TaskStruct p, CpuMask mask)
    {
        if (!mask.Intersects(_m.OnlineMask))
        {
            return new ValueTask<long>(Errno.EINVAL.Ret());
        }
        p.CpusAllowed = mask;
        bool running = _m.Cpus[p.Cpu].Curr == p;
        if (!mask.IsSet(p.Cpu))
        {
            if (running)
            {
                // Leave the CPU at the next reschedule; another CPU picks it up.
                _m.ReschedTask(p);
            }
            else
            {
                p.Cpu = mask.And(_m.OnlineMask).First;
            }
        }
        if (!running && p.Array is not null)
        {
            // A runnable task whose wake-up kicked a CPU it may no longer use: find it one that
            // it may (reschedule_idle again), or it would wait until that CPU happens to schedule.
            RescheduleIdle(p);
        }
        return new ValueTask<long>(0);
    }

    public long TimesliceNs(TaskStruct p) => p.Policy == SchedPolicy.SCHED_FIFO ? 0 : _m.Hz.JiffiesToNs(NiceToTicks(p.Nice));

    public int NrRunning(int cpu) => cpu == 0 ? NrRunnable : 0;

    public (long Running, long Uninterruptible) CountActive()
    {
        long unint = 0;
        foreach (var t in _allTasks)
        {
            if (t.State == TaskState.TASK_UNINTERRUPTIBLE && t.ExitState == 0)
            {
                unint++;
            }
        }
        // 2.4 counted the tasks on runqueue_head, the ones on a CPU included (idle tasks are never on it).
        return (NrRunnable, unint);
    }

    public long NrSwitches(int cpu) => _switches[cpu];

    public string FormatSchedstat(uint jiffies) =>
        $"version 0\ntimestamp {jiffies}\n" + string.Concat(_m.Cpus.Select(c => $"cpu{c.Id} switches {_switches[c.Id]} recalculations {Recalculations}\n"));

    public IEnumerable<string> CheckInvariants()
    {
        int n = 0;
        TaskStruct? prev = null;
        for (var p = _head; p is not null; p = p.RunNext)
        {
            n++;
            if (p.RunPrev != prev)
            {
                yield return $"runqueue_head: broken back link at {p}";
            }
            if (p.Array != _onRunqueue)
            {
                yield return $"runqueue_head: {p} listed but not marked as queued";
            }
            prev = p;
        }
        if (_tail != prev)
        {
            yield return "runqueue_head: wrong tail";
        }
        if (n != NrRunnable)
        {
            yield return $"runqueue_head: nr_running {NrRunnable} but {n} listed";
        }
        foreach (var cpu in _m.Cpus)
        {
            var curr = cpu.Curr;
            if (!curr.IsIdleTask && !curr.CpusAllowed.IsSet(cpu.Id) && curr.NeedResched == false)
            {
                yield return $"cpu{cpu.Id}: running {curr} outside its affinity {curr.CpusAllowed}";
            }
        }
    }
}
