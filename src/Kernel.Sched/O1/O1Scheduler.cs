// Linux 2.6.20 kernel/sched.c: the O(1) scheduler. This file holds the runqueue primitives
// (enqueue/dequeue, activate/deactivate with the sleep_avg recalculation, load weights) and
// boot; the tick, schedule(), wake-ups, load balancing and the syscall side live in the
// O1Scheduler.*.cs files beside it. Every method runs with the relevant runqueue lock "held":
// the lock's hold time is charged to the CPU doing the work (Machine.ChargeLock), so the cost
// of per-CPU locking is visible next to the 2.4 scheduler's global lock.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Sched;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler : IScheduler
{
    private readonly SchedOptions _options;
    private Machine _m = null!;
    private RunQueue[] _rqs = [];
    private SchedParams _p = null!;
    private int _online;

    public O1Scheduler(SchedOptions? options = null)
    {
        _options = options ?? new SchedOptions();
    }

    public string Name => "o1";

    public SchedParams Params => _p;

    public IReadOnlyList<RunQueue> RunQueues => _rqs;

    public RunQueue CpuRq(int cpu) => _rqs[cpu];

    private RunQueue TaskRq(TaskStruct p) => _rqs[p.Cpu];

    public void Init(Machine machine)
    {
        _m = machine;
        _options.Validate(machine.Cpus.Length);
        _p = new SchedParams(machine.Hz);
        _online = machine.Cpus.Length;
        _rqs = new RunQueue[_online];
        for (int i = 0; i < _online; i++)
        {
            _rqs[i] = new RunQueue(i, new KSpinLock($"rq{i}.lock"));
        }
        BuildSchedDomains();
        machine.Softirqs.Open(SoftirqNr.SCHED_SOFTIRQ, RunRebalanceDomains); // sched_init
    }

    public void InitIdle(TaskStruct idle, Cpu cpu)
    {
        // init_idle: prio MAX_PRIO so that any task preempts it; never on a queue.
        idle.StaticPrio = SchedParams.MAX_PRIO;
        idle.Prio = SchedParams.MAX_PRIO;
        idle.NormalPrio = SchedParams.MAX_PRIO;
        idle.Policy = SchedPolicy.SCHED_NORMAL;
        idle.Timestamp = _m.Now;
        _rqs[cpu.Id].Idle = idle;
    }

    /// <summary>Scheduler state for a task created outside fork (init, kernel threads).</summary>
    public void InitTask(TaskStruct p, int nice)
    {
        p.StaticPrio = SchedParams.NICE_TO_PRIO(nice);
        p.Prio = p.StaticPrio;
        p.NormalPrio = p.StaticPrio;
        p.TimeSlice = _p.TaskTimeslice(p);
        SetLoadWeight(p);
    }

    // ------------------------------------------------------------------ load weight (smpnice)

    internal void SetLoadWeight(TaskStruct p)
    {
        if (SchedParams.HasRtPolicy(p))
        {
            var rq = _rqs.Length > p.Cpu ? _rqs[p.Cpu] : null;
            // The migration thread does the balancing; giving it weight would skew it.
            p.LoadWeight = rq is not null && p == rq.MigrationThread ? 0 : _p.RtPrioToLoadWeight(p.RtPriority);
        }
        else
        {
            p.LoadWeight = _p.PrioToLoadWeight(p.StaticPrio);
        }
    }

    private static void IncNrRunning(TaskStruct p, RunQueue rq)
    {
        rq.NrRunning++;
        rq.RawWeightedLoad += p.LoadWeight;
    }

    private static void DecNrRunning(TaskStruct p, RunQueue rq)
    {
        rq.NrRunning--;
        rq.RawWeightedLoad -= p.LoadWeight;
    }

    // ------------------------------------------------------------------ queueing

    private void EnqueueTask(TaskStruct p, PrioArray array)
    {
        SchedInfoQueued(p);
        array.Enqueue(p);
    }

    private void SchedInfoQueued(TaskStruct p)
    {
        if (p.LastQueuedNs == 0)
        {
            p.LastQueuedNs = _m.Now == 0 ? 1 : _m.Now;
        }
    }

    /// <summary>__activate_task: enqueue on active (SCHED_BATCH: expired) and count it.</summary>
    private void ActivateTaskLocked(TaskStruct p, RunQueue rq)
    {
        var target = p.Policy == SchedPolicy.SCHED_BATCH ? rq.Expired : rq.Active;
        EnqueueTask(p, target);
        IncNrRunning(p, rq);
    }

    /// <summary>recalc_task_prio (2.6.17+ sleep_type form): credit the sleep, return the new prio.</summary>
    internal int RecalcTaskPrio(TaskStruct p, long now)
    {
        long sleepTime = now - p.Timestamp;
        if (p.Policy == SchedPolicy.SCHED_BATCH)
        {
            sleepTime = 0;
        }
        if (sleepTime > 0)
        {
            long ceiling = _p.InteractiveSleep(p);
            bool hasMm = p.Mm is not null; // kernel threads have no mm
            if (hasMm && sleepTime > ceiling && p.SleepAvg < ceiling)
            {
                // One long sleep may not buy the best priority.
                p.SleepAvg = ceiling;
                p.SleepType = SleepType.SLEEP_NONINTERACTIVE;
            }
            else
            {
                // Uninterruptible (I/O) sleepers earn only up to the ceiling.
                if (p.SleepType == SleepType.SLEEP_NONINTERACTIVE && hasMm)
                {
                    if (p.SleepAvg >= ceiling)
                    {
                        sleepTime = 0;
                    }
                    else if (p.SleepAvg + sleepTime >= ceiling)
                    {
                        p.SleepAvg = ceiling;
                        sleepTime = 0;
                    }
                }
                p.SleepAvg += sleepTime;
            }
            if (p.SleepAvg > _p.NS_MAX_SLEEP_AVG)
            {
                p.SleepAvg = _p.NS_MAX_SLEEP_AVG;
            }
        }
        return _p.EffectivePrio(p);
    }

    /// <summary>activate_task: recalculate priority from the sleep, classify it, enqueue.</summary>
    private void ActivateTask(TaskStruct p, RunQueue rq)
    {
        if (!SchedParams.RtTask(p))
        {
            long now = _m.Now;
            p.Prio = RecalcTaskPrio(p, now);
            if (p.SleepType == SleepType.SLEEP_NORMAL)
            {
                // Woken by hardware events: likely interactive, full on-runqueue credit.
                p.SleepType = PreemptCount.InInterrupt(_m.ThisCpu.Curr.PreemptCount)
                    ? SleepType.SLEEP_INTERRUPTED
                    : SleepType.SLEEP_INTERACTIVE;
            }
            p.Timestamp = now;
        }
        ActivateTaskLocked(p, rq);
    }

    private static void DeactivateTask(TaskStruct p, RunQueue rq)
    {
        DecNrRunning(p, rq);
        p.Array!.Dequeue(p);
    }

    /// <summary>set_task_cpu, with the migration tracepoint and counter.</summary>
    private void SetTaskCpu(TaskStruct p, int cpu)
    {
        if (p.Cpu != cpu)
        {
            _m.Trace.OnSchedMigrateTask(_m.Now, _m.ThisCpu.Id, p, p.Cpu, cpu);
            p.Migrations++;
            p.Cpu = cpu;
        }
    }

    /// <summary>resched_task: need_resched on the task, IPI if it runs on another CPU.</summary>
    private void ReschedTask(TaskStruct curr) => _m.ReschedTask(curr);

    private bool TaskPreemptsCurr(TaskStruct p, RunQueue rq) => p.Prio < _m.Cpus[rq.Cpu].Curr.Prio;

    private bool TaskRunning(RunQueue rq, TaskStruct p) => _m.Cpus[rq.Cpu].Curr == p;

    private TaskStruct RqCurr(RunQueue rq) => _m.Cpus[rq.Cpu].Curr;

    /// <summary>Take a runqueue lock from synchronous code on `cpu`: charged spin + hold.</summary>
    private void LockRq(RunQueue rq, Cpu cpu) => _m.ChargeLock(rq.Lock, cpu, _m.Costs.RunqueueLockHoldNs);

    // ------------------------------------------------------------------ queries

    public long TimesliceNs(TaskStruct p) => p.Policy == SchedPolicy.SCHED_FIFO ? 0 : _p.JIFFIES_TO_NS(_p.TaskTimeslice(p));

    public int NrRunning(int cpu) => _rqs[cpu].NrRunning;

    public long NrSwitches(int cpu) => _rqs[cpu].NrSwitches;

    public (long Running, long Uninterruptible) CountActive()
    {
        long r = 0, u = 0;
        foreach (var rq in _rqs)
        {
            r += rq.NrRunning;
            u += rq.NrUninterruptible;
        }
        return (r, u);
    }
}
