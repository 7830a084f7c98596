// Per-process data the process layer keeps beside task_struct: the parent's wait queue for
// children (signal->wait_chldexit), the vfork completion, stop/continue reports, and the task's
// user-side handle.
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Syscalls;

namespace Kernel.Process;

internal sealed class ProcessState
{
    public ProcessState(TaskStruct task)
    {
        WaitChldexit = new WaitQueueHead($"wait_chldexit/{task.Pid}");
    }

    public WaitQueueHead WaitChldexit { get; }

    public Completion? VforkDone { get; set; }

    /// <summary>The hrtimer of nanosleep, reused across sleeps.</summary>
    public Kernel.Core.Time.KTimer? SleepTimer { get; set; }

    public UserTask? Handle { get; set; }

    /// <summary>The task_struct's slab object and the first pfn of its kernel stack.</summary>
    public Kernel.Mm.Slab.SlabObject TaskStructObj { get; set; } = Kernel.Mm.Slab.SlabObject.None;

    public int KernelStackPfn { get; set; } = -1;

    /// <summary>The file descriptor table (null after exit_files).</summary>
    public FilesStruct? Files { get; set; } = new();

    /// <summary>Signal that stopped the task, not yet reported to wait4 (group_exit_code).</summary>
    public int StopSignalToReport { get; set; }

    /// <summary>Continued from a stop, not yet reported (SIGNAL_STOP_CONTINUED).</summary>
    public bool ContinuedToReport { get; set; }

    /// <summary>A user handler ran since the last syscall entry: decides EINTR vs restart.</summary>
    public bool HandlerRan { get; set; }

    public static ProcessState Of(TaskStruct p) => (ProcessState)p.ProcessData!;
}
