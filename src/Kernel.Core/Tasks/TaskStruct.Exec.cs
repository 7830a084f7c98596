// The emulator's half of a task: how its C# code is parked and resumed. This is what Linux keeps
// on the kernel stack and in thread.esp: where the task is in its code and what it still owes
// the CPU. A task is always in exactly one ExecState.
namespace Kernel.Core.Tasks;

public enum ExecState
{
    /// <summary>Created, body not yet entered.</summary>
    NotStarted,
    /// <summary>Its host code is executing now (only ever one task at a time per machine).</summary>
    Running,
    /// <summary>Parked on its waiter; resumes when it has the CPU and owes no work.</summary>
    Suspended,
    /// <summary>
    /// Exited and still current: the CPU is paying the kernel time the task's last syscalls and
    /// its exit owe (do_exit runs until its final schedule()); then it is Finished.
    /// </summary>
    Dying,
    /// <summary>Body finished or task exited; never resumes.</summary>
    Finished,
}

public sealed partial class TaskStruct
{
    internal readonly TaskWaiter Waiter;
    internal ExecState Exec;
    /// <summary>Kernel time owed before the task's own work continues (syscall, switch, irq cost).</summary>
    internal long DebtNs;
    /// <summary>Remaining compute (user) or kernel work of the current segment.</summary>
    internal long WorkNs;
    internal bool WorkInKernel;
    /// <summary>Value handed back when the task next resumes.</summary>
    internal long ResumeValue;
    internal Func<ValueTask>? Body;
    internal Exception? BodyException;
    /// <summary>Set when a user program awaited something that is not the kernel's.</summary>
    internal bool ForeignAwait;
    /// <summary>
    /// The task's kernel path has finished its host code but still owes DebtNs of kernel time:
    /// it stays in kernel mode until that is paid, then drops to user mode (Machine.LeaveKernel).
    /// </summary>
    internal bool ReturnToUserPending;
    /// <summary>A forked child that has not yet run schedule_tail (it holds the rq lock's preempt count).</summary>
    internal bool ScheduleTailPending;
    /// <summary>Emulator-visible mode: true while executing kernel code on behalf of the task.</summary>
    public bool InKernel { get; private set; }

    /// <summary>Enter kernel mode (a syscall, fault or kernel primitive): nothing owed is user time now.</summary>
    internal void SetKernelMode()
    {
        InKernel = true;
        ReturnToUserPending = false;
    }

    /// <summary>Return towards user mode: at once if nothing is owed, else once the kernel time is paid.</summary>
    internal void BeginReturnToUser()
    {
        if (DebtNs == 0)
        {
            InKernel = false;
            ReturnToUserPending = false;
        }
        else
        {
            ReturnToUserPending = InKernel;
        }
    }

    /// <summary>The kernel time owed has been paid: a pending return to user mode completes.</summary>
    internal void DebtPaid()
    {
        if (ReturnToUserPending && DebtNs == 0)
        {
            InKernel = false;
            ReturnToUserPending = false;
        }
    }

    public ExecState ExecutionState => Exec;
}
