// What the machine needs from the process layer (kernel/signal.c, kernel/exit.c) without
// referencing it: signal delivery on the way back to user mode, and exit when a body returns.
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
}
