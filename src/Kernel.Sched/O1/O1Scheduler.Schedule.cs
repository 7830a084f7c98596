// Linux 2.6.20 kernel/sched.c: schedule() (the machine performs the context switch itself) and
// the sched_info bookkeeping of CONFIG_SCHEDSTATS.
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    public TaskStruct Schedule(Cpu cpu, TaskStruct prev)
    {
        var rq = _rqs[cpu.Id];
        long now = _m.Now;
        rq.SchedCnt++;
        if (prev.IsIdleTask && prev.State != TaskState.TASK_RUNNING)
        {
            _m.RecordWarning(cpu, "bad: scheduling from the idle thread!");
        }

        // Charge the run: sleep_avg drops by the time just run, scaled down for interactive tasks.
        long runTime = now - prev.Timestamp;
        if (runTime < 0)
        {
            runTime = 0;
        }
        else if (runTime >= _p.NS_MAX_SLEEP_AVG)
        {
            runTime = _p.NS_MAX_SLEEP_AVG;
        }
        int bonus = _p.CurrentBonus(prev);
        runTime /= bonus != 0 ? bonus : 1;

        LockRq(rq, cpu);

        if (prev.State != TaskState.TASK_RUNNING && (prev.PreemptCount & PreemptCount.PREEMPT_ACTIVE) == 0 && !prev.IsIdleTask)
        {
            if ((prev.State & TaskState.TASK_INTERRUPTIBLE) != 0 && Machine.SignalPending(prev))
            {
                prev.State = TaskState.TASK_RUNNING;
            }
            else
            {
                if (prev.State == TaskState.TASK_UNINTERRUPTIBLE)
                {
                    rq.NrUninterruptible++;
                }
                DeactivateTask(prev, rq);
            }
        }

        TaskStruct next;
        if (rq.NrRunning == 0)
        {
            IdleBalance(cpu, rq);
        }
        if (rq.NrRunning == 0)
        {
            next = rq.Idle;
            rq.ExpiredTimestamp = 0;
        }
        else
        {
            var array = rq.Active;
            if (array.NrActive == 0)
            {
                // The array switch: expired becomes active in O(1).
                rq.SchedSwitch++;
                rq.Active = rq.Expired;
                rq.Expired = array;
                array = rq.Active;
                rq.ExpiredTimestamp = 0;
                rq.BestExpiredPrio = SchedParams.MAX_PRIO;
            }
            int idx = array.FindFirstBit();
            next = array.First(idx) ?? throw new KernelBug($"cpu{cpu.Id}: bitmap bit {idx} set on an empty queue", _m.DumpState(prev));

            if (!SchedParams.RtTask(next) && next.SleepType is SleepType.SLEEP_INTERACTIVE or SleepType.SLEEP_INTERRUPTED)
            {
                // Credit time spent waiting on the runqueue (30% of it for process-context wake-ups).
                long delta = now - next.Timestamp;
                if (delta < 0)
                {
                    delta = 0;
                }
                if (next.SleepType == SleepType.SLEEP_INTERACTIVE)
                {
                    delta = delta * (SchedParams.ON_RUNQUEUE_WEIGHT * 128 / 100) / 128;
                }
                var narray = next.Array!;
                int newPrio = RecalcTaskPrio(next, next.Timestamp + delta);
                if (next.Prio != newPrio)
                {
                    narray.Dequeue(next);
                    next.Prio = newPrio;
                    narray.Enqueue(next);
                }
            }
            next.SleepType = SleepType.SLEEP_NORMAL;
        }

        if (next == rq.Idle)
        {
            rq.SchedGoidle++;
        }
        Machine.ClearNeedResched(prev);
        prev.SleepAvg -= runTime;
        if (prev.SleepAvg <= 0)
        {
            prev.SleepAvg = 0;
        }
        // update_cpu_clock at the switch: task_hot's "now" is never older than the last switch.
        prev.Timestamp = prev.LastRan = rq.MostRecentTimestamp = now;
        SchedInfoSwitch(rq, prev, next);
        if (prev != next)
        {
            next.Timestamp = now;
            rq.NrSwitches++;
        }
        return next;
    }

    /// <summary>sched_info_switch: run_delay and pcnt on arrival, cpu_time on departure.</summary>
    private void SchedInfoSwitch(RunQueue rq, TaskStruct prev, TaskStruct next)
    {
        long now = _m.Now;
        if (prev != rq.Idle && prev.LastArrivalNs != 0)
        {
            long ran = now - prev.LastArrivalNs;
            prev.CpuTimeNs += ran;
            rq.RqCpuTimeNs += ran;
            prev.LastArrivalNs = 0;
            if (prev.State == TaskState.TASK_RUNNING && prev != next)
            {
                SchedInfoQueued(prev);
            }
        }
        if (next != rq.Idle && prev != next)
        {
            long delta = next.LastQueuedNs == 0 ? 0 : now - next.LastQueuedNs;
            next.LastQueuedNs = 0;
            next.RunDelayNs += delta;
            next.Pcnt++;
            next.LastArrivalNs = now;
            rq.RqRunDelayNs += delta;
            rq.RqPcnt++;
        }
    }
}
