// Linux 2.6.20 include/linux/sched.h task states. `State` holds the TASK_* run state; a dead
// task's EXIT_ZOMBIE/EXIT_DEAD lives in `ExitState`, as in 2.6.20 (p->exit_state).
namespace Kernel.Core.Tasks;

[Flags]
public enum TaskState
{
    TASK_RUNNING = 0,
    TASK_INTERRUPTIBLE = 1,
    TASK_UNINTERRUPTIBLE = 2,
    TASK_STOPPED = 4,
    TASK_TRACED = 8,
    EXIT_ZOMBIE = 16,
    EXIT_DEAD = 32,
    TASK_NONINTERACTIVE = 64,
    TASK_DEAD = 128,
}

/// <summary>Scheduling policies (sched.h). SCHED_BATCH appeared in 2.6.16.</summary>
public enum SchedPolicy
{
    SCHED_NORMAL = 0,
    SCHED_FIFO = 1,
    SCHED_RR = 2,
    SCHED_BATCH = 3,
}

/// <summary>How the last sleep is credited (2.6.17+ enum sleep_type).</summary>
public enum SleepType
{
    SLEEP_NORMAL,
    SLEEP_NONINTERACTIVE,
    SLEEP_INTERACTIVE,
    SLEEP_INTERRUPTED,
}

/// <summary>thread_info flags that matter here (asm-i386/thread_info.h bit numbers).</summary>
[Flags]
public enum ThreadInfoFlags
{
    None = 0,
    TIF_SIGPENDING = 1 << 2,
    TIF_NEED_RESCHED = 1 << 3,
    TIF_POLLING_NRFLAG = 1 << 16,
    /// <summary>TIF_MEMDIE: the OOM killer chose this task; it may use every reserve to exit.</summary>
    TIF_MEMDIE = 1 << 17,
}

/// <summary>task_struct->flags (PF_*), the ones the emulator uses.</summary>
[Flags]
public enum TaskFlags
{
    None = 0,
    PF_STARTING = 0x00000002,
    PF_EXITING = 0x00000004,
    PF_FORKNOEXEC = 0x00000040,
    PF_SUPERPRIV = 0x00000100,
    PF_SIGNALED = 0x00000400,
    PF_MEMALLOC = 0x00000800,
    PF_KSWAPD = 0x00040000,
    /// <summary>PF_SWAPOFF: in swapoff (the OOM killer's first choice: swapoff can use up all memory).</summary>
    PF_SWAPOFF = 0x00080000,
    /// <summary>PF_SWAPWRITE: may write to swap (and to a congested queue) during reclaim.</summary>
    PF_SWAPWRITE = 0x00800000,
    /// <summary>Emulator marker for kernel threads (2.6.20 tells them apart by p->mm == NULL).</summary>
    PF_KTHREAD = 0x00200000,
    /// <summary>
    /// A kernel thread bound to one CPU (kthread_bind: the migration threads). From 2.6.31; here so
    /// that sched_setaffinity can refuse to move one, as later kernels do, instead of breaking it.
    /// </summary>
    PF_THREAD_BOUND = 0x04000000,
}

/// <summary>clone() flags (sched.h).</summary>
[Flags]
public enum CloneFlags
{
    None = 0,
    CSIGNAL = 0x000000ff,
    CLONE_VM = 0x00000100,
    CLONE_FS = 0x00000200,
    CLONE_FILES = 0x00000400,
    CLONE_SIGHAND = 0x00000800,
    CLONE_PTRACE = 0x00002000,
    CLONE_VFORK = 0x00004000,
    CLONE_PARENT = 0x00008000,
    CLONE_THREAD = 0x00010000,
    CLONE_NEWNS = 0x00020000,
    CLONE_SYSVSEM = 0x00040000,
    CLONE_SETTLS = 0x00080000,
    CLONE_PARENT_SETTID = 0x00100000,
    CLONE_CHILD_CLEARTID = 0x00200000,
    CLONE_DETACHED = 0x00400000,
    CLONE_UNTRACED = 0x00800000,
    CLONE_CHILD_SETTID = 0x01000000,
    CLONE_STOPPED = 0x02000000,
}
