// The scheduling seam between the machine (Core) and a scheduler implementation (Kernel.Sched:
// the 2.6 O(1) scheduler or the 2.4 goodness scheduler). Core calls it from the timer interrupt,
// from wait-queue wakeups and when a task blocks; the process layer calls the policy methods
// from syscalls. Every method runs on the machine's thread with Machine.ThisCpu set.
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core.Sched;

public interface IScheduler
{
    /// <summary>Short name as /sys and the lab show it ("o1", "goodness").</summary>
    string Name { get; }

    /// <summary>sched_init: build runqueues (and sched domains) for the machine's CPUs.</summary>
    void Init(Machine machine);

    /// <summary>init_idle: make `idle` the idle task of `cpu`.</summary>
    void InitIdle(TaskStruct idle, Cpu cpu);

    /// <summary>
    /// Start `p` as a program launched from an interactive shell: the shell, asleep until now and
    /// so at its full interactivity bonus, wakes, forks `p` (child runs first, inheriting the
    /// shell's priority and half its timeslice) and execs it (exec balancing picks the CPU);
    /// `nice` is then applied as nice(1) would. `p` already has its affinity.
    /// </summary>
    void SpawnFromShell(TaskStruct p, int nice);

    /// <summary>Kernel threads the scheduler needs (migration/N), created once tasks can exist.</summary>
    void StartKernelThreads();

    /// <summary>scheduler_tick: called from the timer interrupt of `cpu` (hardirq context).</summary>
    void SchedulerTick(Cpu cpu);

    /// <summary>
    /// The body of schedule(): deactivate prev unless it is runnable or was preempted, pick next,
    /// update sleep_avg and timestamps. Returns next (possibly prev). The machine then switches.
    /// </summary>
    TaskStruct Schedule(Cpu cpu, TaskStruct prev);

    /// <summary>try_to_wake_up: returns true if the task was woken (was not already runnable).</summary>
    bool TryToWakeUp(TaskStruct p, TaskState stateMask, bool sync);

    /// <summary>Scheduler state of a task made by the kernel itself (init, kernel threads, host spawns).</summary>
    void InitTask(TaskStruct p, int nice);

    /// <summary>
    /// First activation of a task created from the host side (a spawn, as fork+exec): placed on
    /// the idlest allowed CPU, as exec balancing would.
    /// </summary>
    void WakeUpSpawned(TaskStruct p);

    /// <summary>sched_fork: scheduler state of a new child, timeslice split with the parent.</summary>
    void SchedFork(TaskStruct child, TaskStruct parent, CloneFlags flags);

    /// <summary>wake_up_new_task: first activation of a forked child (child-runs-first).</summary>
    void WakeUpNewTask(TaskStruct child, TaskStruct parent, CloneFlags flags);

    /// <summary>sched_exit: give a dead child's unused first timeslice back to its parent.</summary>
    void SchedExit(TaskStruct p);

    /// <summary>sys_sched_yield's queue move; the caller then calls schedule().</summary>
    void Yield(TaskStruct p);

    /// <summary>set_user_nice.</summary>
    void SetUserNice(TaskStruct p, int nice);

    /// <summary>__setscheduler after the permission checks: policy, RT priority, requeue.</summary>
    void SetScheduler(TaskStruct p, SchedPolicy policy, int rtPriority);

    /// <summary>
    /// rt_mutex_setprio: set the effective priority a PI boost (or its end) gives `p`, requeueing
    /// it and rescheduling as the change requires; normal_prio is left alone.
    /// </summary>
    void RtMutexSetprio(TaskStruct p, int prio);

    /// <summary>set_cpus_allowed: may need the migration thread, so it can block the caller.</summary>
    ValueTask<long> SetCpusAllowed(TaskStruct p, CpuMask mask);

    /// <summary>task_timeslice in nanoseconds (sched_rr_get_interval).</summary>
    long TimesliceNs(TaskStruct p);

    /// <summary>nr_running of a CPU's runqueue.</summary>
    int NrRunning(int cpu);

    /// <summary>nr_running() summed, nr_uninterruptible() summed (loadavg).</summary>
    (long Running, long Uninterruptible) CountActive();

    /// <summary>Context switches on a CPU (rq->nr_switches).</summary>
    long NrSwitches(int cpu);

    /// <summary>/proc/schedstat text.</summary>
    string FormatSchedstat(uint jiffies);

    /// <summary>Runqueue invariants: counts match queues, bitmap bits match non-empty queues.</summary>
    IEnumerable<string> CheckInvariants();
}
