// Linux 2.6.20 kernel/hrtimer.c do_nanosleep and kernel/signal.c sys_pause: interruptible
// sleeps ended by a timer (run from the tick, 2.6.20 having no high-resolution timers on i386)
// or by a signal.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Process;

namespace Kernel.Process;

public sealed partial class ProcessTable
{
    /// <summary>do_nanosleep: true when the timer expired, false when a signal cut it short.</summary>
    internal async ValueTask<bool> DoNanosleep(TaskStruct p, long expiresNs)
    {
        var ps = ProcessState.Of(p);
        var timer = ps.SleepTimer ??= new KTimer(ScheduleTimeoutOps.ProcessTimeout, p);
        while (true)
        {
            p.State = TaskState.TASK_INTERRUPTIBLE;
            timer.Start(Machine, expiresNs);
            if (timer.Pending)
            {
                await Machine.Schedule();
            }
            bool expired = !timer.Pending;
            timer.Del(Machine);
            p.State = TaskState.TASK_RUNNING;
            if (expired)
            {
                return true;
            }
            if (Machine.SignalPending(p))
            {
                return false;
            }
        }
    }

    /// <summary>sys_pause: sleep until a signal arrives.</summary>
    internal async ValueTask DoPause(TaskStruct p)
    {
        while (!Machine.SignalPending(p))
        {
            p.State = TaskState.TASK_INTERRUPTIBLE;
            await Machine.Schedule();
        }
        p.State = TaskState.TASK_RUNNING;
    }
}
