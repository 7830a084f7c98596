// Linux 2.6.20 kernel/sched.c, the syscall side: sys_sched_yield, set_user_nice,
// __setscheduler, set_cpus_allowed with the per-CPU migration thread (migration/N), which also
// performs active load balancing.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    public void Yield(TaskStruct p)
    {
        var rq = TaskRq(p);
        LockRq(rq, _m.ThisCpu);
        rq.YldCnt++;
        var array = p.Array;
        if (array is null)
        {
            return;
        }
        // Non-RT tasks go to the expired array; RT tasks round-robin within the active one.
        var target = SchedParams.RtTask(p) ? rq.Active : rq.Expired;
        if (array.NrActive == 1)
        {
            rq.YldActEmpty++;
            if (rq.Expired.NrActive == 0)
            {
                rq.YldBothEmpty++;
            }
        }
        else if (rq.Expired.NrActive == 0)
        {
            rq.YldExpEmpty++;
        }
        if (array != target)
        {
            array.Dequeue(p);
            EnqueueTask(p, target);
        }
        else
        {
            array.Requeue(p);
        }
    }

    public void SetUserNice(TaskStruct p, int nice)
    {
        if (SchedParams.TASK_NICE(p) == nice || nice < -20 || nice > 19)
        {
            return;
        }
        var rq = TaskRq(p);
        LockRq(rq, _m.ThisCpu);
        if (SchedParams.HasRtPolicy(p))
        {
            p.StaticPrio = SchedParams.NICE_TO_PRIO(nice);
            return;
        }
        var array = p.Array;
        if (array is not null)
        {
            array.Dequeue(p);
            rq.RawWeightedLoad -= p.LoadWeight;
        }
        p.StaticPrio = SchedParams.NICE_TO_PRIO(nice);
        SetLoadWeight(p);
        int oldPrio = p.Prio;
        p.Prio = _p.EffectivePrio(p);
        int delta = p.Prio - oldPrio;
        if (array is not null)
        {
            array.Enqueue(p);
            rq.RawWeightedLoad += p.LoadWeight;
            // Reschedule if it got better, or got worse while running.
            if (delta < 0 || (delta > 0 && TaskRunning(rq, p)))
            {
                ReschedTask(RqCurr(rq));
            }
        }
    }

    public void SetScheduler(TaskStruct p, SchedPolicy policy, int rtPriority)
    {
        var rq = TaskRq(p);
        LockRq(rq, _m.ThisCpu);
        var array = p.Array;
        if (array is not null)
        {
            DeactivateTask(p, rq);
        }
        int oldPrio = p.Prio;
        // __setscheduler
        p.Policy = policy;
        p.RtPriority = rtPriority;
        p.NormalPrio = _p.NormalPrio(p);
        p.Prio = RtMutex.GetPrio(p); // a PI boost outlives the policy change
        if (policy == SchedPolicy.SCHED_BATCH)
        {
            p.SleepAvg = 0;
        }
        SetLoadWeight(p);
        if (array is not null)
        {
            ActivateTaskLocked(p, rq);
            if (TaskRunning(rq, p))
            {
                if (p.Prio > oldPrio)
                {
                    ReschedTask(RqCurr(rq));
                }
            }
            else if (TaskPreemptsCurr(p, rq))
            {
                ReschedTask(RqCurr(rq));
            }
        }
    }

    public void RtMutexSetprio(TaskStruct p, int prio)
    {
        if (prio < 0 || prio > SchedParams.MAX_PRIO)
        {
            throw new KernelBug($"BUG: rt_mutex_setprio({p}, {prio}) out of range");
        }
        var rq = TaskRq(p);
        LockRq(rq, _m.ThisCpu);
        int oldPrio = p.Prio;
        var array = p.Array;
        if (array is not null)
        {
            array.Dequeue(p);
        }
        p.Prio = prio;
        if (array is not null)
        {
            // A task boosted to an RT priority is queued in the active array.
            EnqueueTask(p, SchedParams.RtTask(p) ? rq.Active : array);
            if (TaskRunning(rq, p))
            {
                if (p.Prio > oldPrio)
                {
                    ReschedTask(RqCurr(rq));
                }
            }
            else if (TaskPreemptsCurr(p, rq))
            {
                ReschedTask(RqCurr(rq));
            }
        }
    }

    public async ValueTask<long> SetCpusAllowed(TaskStruct p, CpuMask mask)
    {
        var online = CpuMask.FirstN(_online);
        if (!mask.Intersects(online))
        {
            return Errno.EINVAL.Ret();
        }
        var rq = TaskRq(p);
        LockRq(rq, _m.ThisCpu);
        p.CpusAllowed = mask;
        if (mask.IsSet(p.Cpu))
        {
            return 0;
        }
        int dest = mask.And(online).First;
        // migrate_task: a task neither queued nor running just changes its CPU field.
        if (p.Array is null && !TaskRunning(rq, p))
        {
            SetTaskCpu(p, dest);
            return 0;
        }
        var req = new MigrationRequest(p, dest);
        rq.MigrationQueue.Enqueue(req);
        if (rq.MigrationThread is null)
        {
            throw new KernelBug($"set_cpus_allowed: cpu{rq.Cpu} has no migration thread");
        }
        _m.WakeUpProcess(rq.MigrationThread);
        await req.Done.WaitForCompletion(_m);
        return 0;
    }

    public void StartKernelThreads()
    {
        for (int cpu = 0; cpu < _online; cpu++)
        {
            int c = cpu;
            var t = _m.KthreadCreate($"migration/{c}", self => MigrationThread(self, c), c);
            _rqs[c].MigrationThread = t;
            // SCHED_FIFO at MAX_RT_PRIO-1 (rt_priority 99 -> prio 0), pinned to its CPU.
            t.CpusAllowed = CpuMask.Of(c);
            var rq = _rqs[c];
            if (t.Array is not null)
            {
                DeactivateTask(t, rq);
            }
            t.Policy = SchedPolicy.SCHED_FIFO;
            t.RtPriority = SchedParams.MAX_RT_PRIO - 1;
            t.NormalPrio = _p.NormalPrio(t);
            t.Prio = t.NormalPrio;
            SetLoadWeight(t);
            ActivateTaskLocked(t, rq);
        }
    }

    /// <summary>migration_thread: serve migration requests and active-balance pushes for one CPU.</summary>
    private async ValueTask MigrationThread(TaskStruct self, int cpu)
    {
        var rq = _rqs[cpu];
        while (true)
        {
            if (rq.ActiveBalance)
            {
                ActiveLoadBalance(rq, cpu);
                rq.ActiveBalance = false;
            }
            if (!rq.MigrationQueue.TryDequeue(out var req))
            {
                self.State = TaskState.TASK_INTERRUPTIBLE;
                await _m.Schedule();
                continue;
            }
            MigrateTask(req.Task, cpu, req.DestCpu);
            req.Done.Complete();
        }
    }

    /// <summary>__migrate_task: move p from src to dest if it is still on src and allowed there.</summary>
    private void MigrateTask(TaskStruct p, int srcCpu, int destCpu)
    {
        var rqSrc = _rqs[srcCpu];
        var rqDest = _rqs[destCpu];
        LockRq(rqSrc, _m.ThisCpu);
        LockRq(rqDest, _m.ThisCpu);
        if (p.Cpu != srcCpu || !p.CpusAllowed.IsSet(destCpu))
        {
            return;
        }
        if (TaskRunning(rqSrc, p))
        {
            throw new KernelBug($"__migrate_task: {p} is running on cpu{srcCpu}");
        }
        bool queued = p.Array is not null;
        if (queued)
        {
            DeactivateTask(p, rqSrc);
        }
        SetTaskCpu(p, destCpu);
        if (queued)
        {
            // __activate_task: a move is not a wake-up, so no sleep credit and no sleep_type change.
            ActivateTaskLocked(p, rqDest);
            if (TaskPreemptsCurr(p, rqDest))
            {
                ReschedTask(RqCurr(rqDest));
            }
        }
        _m.Charge(_m.Costs.MigrationNs);
    }
}
