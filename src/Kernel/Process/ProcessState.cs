// What the process layer keeps beside one task_struct: the per-thread parts (the user-side
// handle, the vfork completion, nanosleep's timer, whether a handler ran, the task_struct's slab
// object and kernel stack) and references to the parts threads may share: the files table
// (files_struct), the signal actions (sighand_struct) and the group's signal state
// (signal_struct).
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Syscalls;

namespace Kernel.Process;

internal sealed class ProcessState
{
    public ProcessState(TaskStruct task)
    {
        _pid = task.Pid;
    }

    private readonly int _pid;

    // A thread takes its group's signal_struct and files_struct at clone: they are made only when
    // first needed, so a CLONE_THREAD clone never builds ones it would throw away.
    private SignalStruct? _signal;
    private FilesStruct? _files;
    private bool _filesExited;

    /// <summary>signal: the thread group's shared signal state.</summary>
    public SignalStruct Signal
    {
        get => _signal ??= new SignalStruct(_pid);
        set => _signal = value;
    }

    /// <summary>sighand: the signal actions (shared under CLONE_SIGHAND); fork sets it, a new task gets a fresh one.</summary>
    public SighandStruct Sighand
    {
        get => _sighand ??= new SighandStruct();
        set => _sighand = value;
    }

    private SighandStruct? _sighand;

    public Completion? VforkDone { get; set; }

    /// <summary>The hrtimer of nanosleep, reused across sleeps.</summary>
    public Kernel.Core.Time.KTimer? SleepTimer { get; set; }

    public UserTask? Handle { get; set; }

    /// <summary>The task_struct's slab object and the first pfn of its kernel stack.</summary>
    public Kernel.Mm.Slab.SlabObject TaskStructObj { get; set; } = Kernel.Mm.Slab.SlabObject.None;

    public int KernelStackPfn { get; set; } = -1;

    /// <summary>The file descriptor table (null after exit_files).</summary>
    public FilesStruct? Files
    {
        get => _filesExited ? null : _files ??= new FilesStruct();
        set
        {
            _files = value;
            _filesExited = value is null;
        }
    }


    /// <summary>clear_child_tid: zeroed and FUTEX_WAKEd at exit (CLONE_CHILD_CLEARTID, set_tid_address); 0 = none.</summary>
    public long ClearChildTid { get; set; }

    /// <summary>robust_list: the user address of the thread's robust_list_head (set_robust_list); 0 = none.</summary>
    public long RobustList { get; set; }

    /// <summary>The thread's futex_q for FUTEX_WAIT, reused across waits.</summary>
    public Kernel.Futex.FutexTable.FutexQ? FutexQ { get; set; }

    /// <summary>pi_state_list: the PI futexes this thread owns while others wait on them.</summary>
    public List<Kernel.Futex.FutexPiState>? PiStateList { get; set; }

    /// <summary>A user handler ran since the last syscall entry: decides EINTR vs restart.</summary>
    public bool HandlerRan { get; set; }

    public static ProcessState Of(TaskStruct p) => (ProcessState)p.ProcessData!;
}
