// Linux 2.6.20 kernel/sched.c: scheduler_tick, task_running_tick, expired_starving, update_load.
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    public void SchedulerTick(Cpu cpu)
    {
        var rq = _rqs[cpu.Id];
        var p = cpu.Curr;
        // update_cpu_clock: the tick banks the current task's time.
        p.LastRan = rq.MostRecentTimestamp = _m.Now;
        if (!p.IsIdleTask)
        {
            TaskRunningTick(rq, p, cpu);
        }
        UpdateLoad(rq);
        if (Hz.TimeAfterEq(_m.Jiffies, rq.NextBalance))
        {
            _m.Softirqs.Raise(cpu, SoftirqNr.SCHED_SOFTIRQ);
        }
    }

    private void TaskRunningTick(RunQueue rq, TaskStruct p, Cpu cpu)
    {
        if (p.Array != rq.Active)
        {
            // Expired (or dequeued) but not yet switched out.
            Machine.SetNeedResched(p);
            return;
        }
        LockRq(rq, cpu);
        if (SchedParams.RtTask(p))
        {
            // RR tasks rotate at their timeslice; FIFO tasks have none.
            if (p.Policy == SchedPolicy.SCHED_RR && --p.TimeSlice == 0)
            {
                p.TimeSlice = _p.TaskTimeslice(p);
                p.FirstTimeSlice = false;
                Machine.SetNeedResched(p);
                rq.Active.Requeue(p);
            }
            return;
        }
        if (--p.TimeSlice == 0)
        {
            rq.Active.Dequeue(p);
            Machine.SetNeedResched(p);
            p.Prio = _p.EffectivePrio(p);
            p.TimeSlice = _p.TaskTimeslice(p);
            p.FirstTimeSlice = false;
            if (rq.ExpiredTimestamp == 0)
            {
                rq.ExpiredTimestamp = _m.Jiffies;
            }
            if (!SchedParams.TaskInteractive(p) || ExpiredStarving(rq))
            {
                EnqueueTask(p, rq.Expired);
                if (p.StaticPrio < rq.BestExpiredPrio)
                {
                    rq.BestExpiredPrio = p.StaticPrio;
                }
            }
            else
            {
                EnqueueTask(p, rq.Active);
            }
        }
        else
        {
            // Split long timeslices of interactive tasks: round-robin at TIMESLICE_GRANULARITY.
            int gran = _p.TimesliceGranularity(p, _online);
            if (SchedParams.TaskInteractive(p) && (_p.TaskTimeslice(p) - p.TimeSlice) % gran == 0
                && p.TimeSlice >= gran && p.Array == rq.Active)
            {
                rq.Active.Requeue(p);
                Machine.SetNeedResched(p);
            }
        }
    }

    /// <summary>expired_starving: let the expired array run when it has waited too long.</summary>
    private bool ExpiredStarving(RunQueue rq)
    {
        if (RqCurr(rq).StaticPrio > rq.BestExpiredPrio)
        {
            return true;
        }
        if (_p.STARVATION_LIMIT == 0 || rq.ExpiredTimestamp == 0)
        {
            return false;
        }
        return unchecked(_m.Jiffies - rq.ExpiredTimestamp) > (uint)(_p.STARVATION_LIMIT * rq.NrRunning);
    }

    /// <summary>update_load: cpu_load[i] = (old*(2^i-1) + new) / 2^i, rounding rises up.</summary>
    private static void UpdateLoad(RunQueue rq)
    {
        long thisLoad = rq.RawWeightedLoad;
        for (int i = 0, scale = 1; i < 3; i++, scale <<= 1)
        {
            long oldLoad = rq.CpuLoad[i];
            long newLoad = thisLoad;
            if (newLoad > oldLoad)
            {
                newLoad += scale - 1;
            }
            rq.CpuLoad[i] = (oldLoad * (scale - 1) + newLoad) / scale;
        }
    }


}
