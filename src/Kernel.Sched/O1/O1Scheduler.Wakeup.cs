// Linux 2.6.20 kernel/sched.c: try_to_wake_up (with wake-affine and wake_idle), sched_fork,
// wake_up_new_task (child-runs-first) and sched_exit.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    public bool TryToWakeUp(TaskStruct p, TaskState stateMask, bool sync)
    {
        var thisCpuObj = _m.ThisCpu;
        int thisCpu = thisCpuObj.Id;
        var rq = TaskRq(p);
        _m.Charge(_m.Costs.WakeupNs);
        LockRq(rq, thisCpuObj);
        var oldState = p.State;
        if ((oldState & stateMask) == 0 || p.ExitState != 0)
        {
            return false;
        }
        bool success = false;
        if (p.Array is null)
        {
            int cpu = p.Cpu;
            if (!TaskRunning(rq, p))
            {
                int newCpu = cpu;
                rq.TtwuCnt++;
                if (cpu == thisCpu)
                {
                    rq.TtwuLocal++;
                }
                else
                {
                    newCpu = SelectWakeCpu(p, cpu, thisCpu, sync);
                }
                newCpu = WakeIdle(newCpu, p);
                if (newCpu != cpu)
                {
                    SetTaskCpu(p, newCpu);
                    rq = TaskRq(p);
                    LockRq(rq, thisCpuObj);
                    cpu = newCpu;
                }
            }
            if (oldState == TaskState.TASK_UNINTERRUPTIBLE)
            {
                rq.NrUninterruptible--;
                // Involuntary sleepers do not earn sleep_avg beyond just interactive.
                p.SleepType = SleepType.SLEEP_NONINTERACTIVE;
            }
            else if ((oldState & TaskState.TASK_NONINTERACTIVE) != 0)
            {
                p.SleepType = SleepType.SLEEP_NONINTERACTIVE;
            }
            ActivateTask(p, rq);
            // A sync wake-up to this CPU promises the waker will reschedule soon: no preemption.
            if (!sync || cpu != thisCpu)
            {
                if (TaskPreemptsCurr(p, rq))
                {
                    ReschedTask(RqCurr(rq));
                }
            }
            success = true;
        }
        p.State = TaskState.TASK_RUNNING;
        _m.Trace.OnSchedWakeup(_m.Now, thisCpu, p, success, isNew: false);
        return success;
    }

    /// <summary>The affine / passive-balance decision of try_to_wake_up for a remote task.</summary>
    private int SelectWakeCpu(TaskStruct p, int cpu, int thisCpu, bool sync)
    {
        SchedDomain? thisSd = null;
        for (var sd = _rqs[thisCpu].Sd; sd is not null; sd = sd.Parent)
        {
            if (sd.Span.IsSet(cpu))
            {
                sd.TtwuWakeRemote++;
                thisSd = sd;
                break;
            }
        }
        if (!p.CpusAllowed.IsSet(thisCpu) || thisSd is null)
        {
            return cpu;
        }
        int idx = thisSd.WakeIdx;
        long imbalance = 100 + (thisSd.ImbalancePct - 100) / 2;
        long load = SourceLoad(cpu, idx);
        long thisLoad = TargetLoad(thisCpu, idx);
        if ((thisSd.Flags & SdFlags.SD_WAKE_AFFINE) != 0)
        {
            long tl = thisLoad;
            long tlPerTask = CpuAvgLoadPerTask(thisCpu);
            if (sync)
            {
                tl -= _m.ThisCpu.Curr.LoadWeight;
            }
            if ((tl <= load && tl + TargetLoad(cpu, idx) <= tlPerTask) || 100 * (tl + p.LoadWeight) <= imbalance * load)
            {
                thisSd.TtwuMoveAffine++;
                return thisCpu;
            }
        }
        if ((thisSd.Flags & SdFlags.SD_WAKE_BALANCE) != 0 && imbalance * thisLoad <= 100 * load)
        {
            thisSd.TtwuMoveBalance++;
            return thisCpu;
        }
        return cpu;
    }

    /// <summary>wake_idle: in SD_WAKE_IDLE domains, prefer an idle allowed CPU.</summary>
    private int WakeIdle(int cpu, TaskStruct p)
    {
        if (IdleCpu(cpu))
        {
            return cpu;
        }
        for (var sd = _rqs[cpu].Sd; sd is not null; sd = sd.Parent)
        {
            if ((sd.Flags & SdFlags.SD_WAKE_IDLE) == 0)
            {
                break;
            }
            foreach (int i in sd.Span.And(p.CpusAllowed).Cpus())
            {
                if (IdleCpu(i))
                {
                    return i;
                }
            }
        }
        return cpu;
    }

    private bool IdleCpu(int cpu) => _m.Cpus[cpu].IsIdle && _rqs[cpu].NrRunning == 0;

    public void SchedFork(TaskStruct child, TaskStruct parent, CloneFlags flags)
    {
        // SD_CPU_INIT has no SD_BALANCE_FORK in 2.6.20: the child starts on the parent's CPU.
        int cpu = SchedBalanceSelf(parent.Cpu, SdFlags.SD_BALANCE_FORK, parent);
        child.Cpu = cpu;
        child.State = TaskState.TASK_RUNNING;
        child.Policy = parent.Policy;
        child.RtPriority = parent.RtPriority;
        child.StaticPrio = parent.StaticPrio;
        child.Prio = parent.NormalPrio; // no PI boost leaks to the child
        child.NormalPrio = parent.NormalPrio;
        child.SleepAvg = parent.SleepAvg;
        child.CpusAllowed = parent.CpusAllowed;
        child.Array = null;
        SetLoadWeight(child);
        _m.SchedForkPreemptCount(child); // 1 under CONFIG_PREEMPT; schedule_tail drops it
        // Share the timeslice so forking cannot mint CPU time.
        child.TimeSlice = (parent.TimeSlice + 1) >> 1;
        child.FirstTimeSlice = true;
        parent.TimeSlice >>= 1;
        child.Timestamp = _m.Now;
        child.LastRan = parent.LastRan; // dup_task_struct copies it: a fresh child is as cache-hot as its parent
        if (parent.TimeSlice == 0 && !parent.IsIdleTask)
        {
            // The parent had a single jiffy left: it expires now.
            parent.TimeSlice = 1;
            TaskRunningTick(_rqs[parent.Cpu], parent, _m.Cpus[parent.Cpu]);
        }
    }

    public void WakeUpNewTask(TaskStruct child, TaskStruct parent, CloneFlags flags)
    {
        var rq = TaskRq(child);
        int thisCpu = _m.ThisCpu.Id;
        int cpu = child.Cpu;
        LockRq(rq, _m.ThisCpu);
        child.SleepAvg = _p.JIFFIES_TO_NS((long)_p.CurrentBonus(child) * SchedParams.CHILD_PENALTY / 100 * _p.MAX_SLEEP_AVG / SchedParams.MAX_BONUS);
        child.Prio = _p.EffectivePrio(child);
        if (cpu == thisCpu)
        {
            if ((flags & CloneFlags.CLONE_VM) == 0)
            {
                // Child runs first: queued just ahead of the parent, then the parent reschedules.
                if (parent.Array is null || parent.IsIdleTask || parent.Cpu != cpu)
                {
                    ActivateTaskLocked(child, rq);
                }
                else
                {
                    child.Prio = parent.Prio;
                    child.NormalPrio = parent.NormalPrio;
                    SchedInfoQueued(child);
                    parent.Array.InsertBefore(child, parent);
                    IncNrRunning(child, rq);
                }
                Machine.SetNeedResched(parent);
            }
            else
            {
                ActivateTaskLocked(child, rq);
            }
        }
        else
        {
            ActivateTaskLocked(child, rq);
            if (TaskPreemptsCurr(child, rq))
            {
                ReschedTask(RqCurr(rq));
            }
        }
        if (!parent.IsIdleTask)
        {
            parent.SleepAvg = _p.JIFFIES_TO_NS((long)_p.CurrentBonus(parent) * SchedParams.PARENT_PENALTY / 100 * _p.MAX_SLEEP_AVG / SchedParams.MAX_BONUS);
        }
        _m.Trace.OnSchedWakeup(_m.Now, thisCpu, child, success: true, isNew: true);
    }

    public void SchedExit(TaskStruct p)
    {
        var parent = p.Parent;
        if (parent is null || parent.IsIdleTask)
        {
            return;
        }
        if (p.FirstTimeSlice && p.Cpu == parent.Cpu)
        {
            parent.TimeSlice += p.TimeSlice;
            if (parent.TimeSlice > _p.TaskTimeslice(p))
            {
                parent.TimeSlice = _p.TaskTimeslice(p);
            }
        }
        if (p.SleepAvg < parent.SleepAvg)
        {
            parent.SleepAvg = parent.SleepAvg / (SchedParams.EXIT_WEIGHT + 1) * SchedParams.EXIT_WEIGHT + p.SleepAvg / (SchedParams.EXIT_WEIGHT + 1);
        }
    }

    public void SpawnFromShell(TaskStruct p, int nice)
    {
        // The shell: nice 0, slept long enough to hold the full sleep_avg, a fresh timeslice.
        const int shellStaticPrio = 120;
        // sched_fork: the child copies the shell's priorities and takes half its slice.
        p.StaticPrio = p.NormalPrio = shellStaticPrio;
        p.SleepAvg = _p.NS_MAX_SLEEP_AVG;
        p.TimeSlice = (_p.StaticPrioTimeslice(shellStaticPrio) + 1) >> 1;
        // wake_up_new_task: CHILD_PENALTY on the inherited sleep_avg; child-runs-first gives it
        // the shell's own dynamic priority (static - full bonus).
        p.SleepAvg = _p.JIFFIES_TO_NS((long)_p.CurrentBonus(p) * SchedParams.CHILD_PENALTY / 100 * _p.MAX_SLEEP_AVG / SchedParams.MAX_BONUS);
        p.Prio = shellStaticPrio - SchedParams.MAX_BONUS / 2;
        if (nice != 0)
        {
            // nice(1) in the child before exec: set_user_nice recomputes prio from the new static prio.
            p.StaticPrio = SchedParams.NICE_TO_PRIO(nice);
            p.NormalPrio = p.StaticPrio;
            p.Prio = _p.EffectivePrio(p);
        }
        SetLoadWeight(p);
        WakeUpSpawned(p, headOfQueue: true);
    }

    public void WakeUpSpawned(TaskStruct p) => WakeUpSpawned(p, headOfQueue: false);

    private void WakeUpSpawned(TaskStruct p, bool headOfQueue)
    {
        // Exec balancing (SD_BALANCE_EXEC): start on the least loaded allowed CPU, lowest number first.
        int best = -1;
        long bestLoad = long.MaxValue;
        foreach (int c in p.CpusAllowed.And(CpuMask.FirstN(_online)).Cpus())
        {
            long load = _rqs[c].RawWeightedLoad;
            if (load < bestLoad)
            {
                bestLoad = load;
                best = c;
            }
        }
        if (best < 0)
        {
            throw new ArgumentException($"Task {p} has no online CPU in its affinity mask {p.CpusAllowed}.");
        }
        p.Cpu = best;
        p.State = TaskState.TASK_RUNNING;
        p.Timestamp = _m.Now;
        p.FirstTimeSlice = true;
        var rq = _rqs[best];
        LockRq(rq, _m.ThisCpu);
        if (headOfQueue && p.Policy != SchedPolicy.SCHED_BATCH)
        {
            // Queued just before the shell, which then sleeps again: first among its priority.
            SchedInfoQueued(p);
            rq.Active.EnqueueHead(p);
            IncNrRunning(p, rq);
        }
        else
        {
            ActivateTaskLocked(p, rq);
        }
        if (TaskPreemptsCurr(p, rq))
        {
            ReschedTask(RqCurr(rq));
        }
        _m.Trace.OnSchedWakeup(_m.Now, _m.ThisCpu.Id, p, success: true, isNew: true);
    }
}
