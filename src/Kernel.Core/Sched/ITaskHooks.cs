// What the machine needs from the process layer (kernel/signal.c, kernel/exit.c, kernel/kthread.c)
// without referencing it: signal delivery on the way back to user mode, exit when a body returns,
// force_sig, and kernel thread creation. Core exposes the last two as Machine.ForceSig and
// Machine.KthreadCreate, so Mm (the OOM killer, kswapd) and Block (kblockd) can use them.
using Kernel.Core.Tasks;

namespace Kernel.Core.Sched;

public interface ITaskHooks
{
    /// <summary>
    /// do_notify_resume: deliver pending signals to `p`, which is current and about to run user
    /// code. May stop it (TASK_STOPPED + schedule) or make it exit.
    /// </summary>
    void DoNotifyResume(TaskStruct p);

    /// <summary>
    /// The task's body returned: exit(exitCode), or, when killSignal is non-zero (the program threw
    /// or awaited a foreign awaitable), die as if killed by that signal.
    /// </summary>
    void BodyReturned(TaskStruct p, int exitCode, int killSignal);

    /// <summary>force_sig: deliver `sig` to `p` even if it is blocked or ignored (SIGKILL for the OOM killer).</summary>
    void ForceSig(TaskStruct p, int sig);

    /// <summary>kthread_create + wake_up_process: a kernel thread running `body`, bound to `cpu` (-1: any).</summary>
    TaskStruct KthreadCreate(string name, Func<TaskStruct, ValueTask> body, int cpu, bool wake = true);
}
