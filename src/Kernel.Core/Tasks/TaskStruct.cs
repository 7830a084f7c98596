// Linux 2.6.20 include/linux/sched.h: struct task_struct, the fields this emulator models,
// grouped by who may change them. One object per task; the scheduler links tasks into its
// priority queues through RunNext/RunPrev (the run_list), so no host allocation happens when a
// task is queued, dequeued or switched.
using Kernel.Core.Smp;

namespace Kernel.Core.Tasks;

public sealed partial class TaskStruct
{
    internal TaskStruct(Machine machine, int pid, string comm)
    {
        Machine = machine;
        Pid = pid;
        Tgid = pid;
        Comm = comm.Length > TASK_COMM_LEN - 1 ? comm[..(TASK_COMM_LEN - 1)] : comm;
        Waiter = new TaskWaiter(this);
    }

    public const int TASK_COMM_LEN = 16;

    public Machine Machine { get; }

    // ---- Identity (set at fork; Tgid/Parent change under tasklist_lock only) ----
    public int Pid { get; internal set; }
    public int Tgid { get; internal set; }
    public string Comm { get; set; }
    public TaskStruct? Parent { get; set; }
    public TaskStruct? RealParent { get; set; }
    public TaskStruct? GroupLeader { get; set; }

    /// <summary>CLONE_THREAD: this task becomes a thread of `leader`'s group (its tgid is the leader's pid).</summary>
    public void JoinThreadGroup(TaskStruct leader)
    {
        ArgumentNullException.ThrowIfNull(leader);
        Tgid = leader.Tgid;
        GroupLeader = leader;
    }
    public List<TaskStruct> Children { get; } = new();
    /// <summary>Process group and session (signal->pgrp, signal->session).</summary>
    public int Pgrp { get; set; }
    public int Session { get; set; }
    public int Uid { get; set; }
    public int Euid { get; set; }
    public TaskFlags Flags { get; set; }
    public bool IsKernelThread => (Flags & TaskFlags.PF_KTHREAD) != 0;
    public bool IsIdleTask { get; internal set; }

    /// <summary>Simulated time of creation (ns since boot).</summary>
    public long StartTimeNs { get; internal set; }

    // ---- Run state (changed by the task itself or by wakers under the rq lock) ----
    public TaskState State { get; set; }
    /// <summary>EXIT_ZOMBIE or EXIT_DEAD once the task has exited (p->exit_state).</summary>
    public TaskState ExitState { get; set; }
    /// <summary>wait4 status word: (code &amp; 0xff) &lt;&lt; 8, or the terminating signal.</summary>
    public int ExitCode { get; set; }
    /// <summary>Signal sent to the parent on exit (SIGCHLD for fork).</summary>
    public int ExitSignal { get; set; }

    // ---- thread_info ----
    public int PreemptCount { get; set; }
    public ThreadInfoFlags ThreadFlags { get; set; }
    public bool NeedResched => (ThreadFlags & ThreadInfoFlags.TIF_NEED_RESCHED) != 0;
    /// <summary>Interrupts disabled on this task's CPU while it runs (local_irq_disable).</summary>
    public bool IrqsDisabled { get; internal set; }
    /// <summary>Spinlocks held: Linux without CONFIG_PREEMPT cannot see these; the emulator can.</summary>
    public int SpinlocksHeld { get; internal set; }

    // ---- Scheduler fields (guarded by the task's runqueue lock) ----
    public int Prio { get; set; }
    public int StaticPrio { get; set; }
    public int NormalPrio { get; set; }
    public int RtPriority { get; set; }
    public SchedPolicy Policy { get; set; }
    /// <summary>ioprio: IOPRIO_PRIO_VALUE(class, data) set by ioprio_set; 0 (no class) lets CFQ derive it from nice.</summary>
    public ushort IoPrio { get; internal set; }
    /// <summary>oomkilladj (/proc/PID/oom_adj): -17 (OOM_DISABLE) to 15, a shift of the OOM killer's badness.</summary>
    public int OomKillAdj { get; internal set; }
    /// <summary>Nanoseconds of recent sleep credit, 0..NS_MAX_SLEEP_AVG.</summary>
    public long SleepAvg { get; set; }
    /// <summary>sched_clock() of the last enqueue/switch (ns).</summary>
    public long Timestamp { get; set; }
    public long LastRan { get; set; }
    public SleepType SleepType { get; set; }
    /// <summary>Remaining timeslice in jiffies.</summary>
    public int TimeSlice { get; set; }
    public bool FirstTimeSlice { get; set; }
    /// <summary>smpnice load weight (2.6.18+): timeslice scaled to SCHED_LOAD_SCALE.</summary>
    public long LoadWeight { get; set; }
    /// <summary>The priority array the task is queued on, or null when not runnable-queued.</summary>
    public PrioArray? Array { get; set; }
    internal TaskStruct? RunNext;
    internal TaskStruct? RunPrev;
    /// <summary>The tasks list (TaskList): creation order.</summary>
    internal TaskStruct? TasksNext;
    internal TaskStruct? TasksPrev;
    /// <summary>CPU whose runqueue the task belongs to (task_cpu).</summary>
    public int Cpu { get; set; }
    public CpuMask CpusAllowed { get; set; } = CpuMask.All;
    /// <summary>2.4 mode: the task's counter (ticks left) as goodness() reads it.</summary>
    public int Counter { get; set; }

    // ---- sched_info (CONFIG_SCHEDSTATS) ----
    public long RunDelayNs { get; set; }
    public long Pcnt { get; set; }
    public long LastArrivalNs { get; set; }
    public long LastQueuedNs { get; set; }
    public long CpuTimeNs { get; set; }

    // ---- Accounting ----
    /// <summary>Ticks charged in user mode (tick-sampled, as 2.6.20 accounts).</summary>
    public long Utime { get; set; }
    /// <summary>Ticks charged in kernel mode.</summary>
    public long Stime { get; set; }
    /// <summary>Exact CPU time consumed (ns): the emulator knows it, 2.6.20 did not.</summary>
    public long SumExecRuntimeNs { get; set; }
    public long Nvcsw { get; set; }
    public long Nivcsw { get; set; }
    public long Migrations { get; set; }
    public long MinFlt { get; set; }
    public long MajFlt { get; set; }
    /// <summary>Dead children's times (cutime/cstime).</summary>
    public long Cutime { get; set; }
    public long Cstime { get; set; }

    // ---- Signals (siglock) ----
    /// <summary>Pending signals, bit (sig-1).</summary>
    public ulong SigPending { get; set; }
    public ulong SigBlocked { get; set; }

    /// <summary>p->mm: the address space, null for kernel threads and after exit_mm.</summary>
    public MmContext? Mm { get; set; }

    /// <summary>Payload for the process layer above Core (files, signal_struct, the user handle).</summary>
    public object? ProcessData { get; set; }

    public bool IsRtPolicy => Policy is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR;

    public int Nice => StaticPrio - 120;

    public override string ToString() => $"{Comm}/{Pid}";
}

