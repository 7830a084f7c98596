// Sleeping on wait queues (kernel/wait.c prepare_to_wait/finish_wait, wait_event*) from async
// kernel paths. The classic loop, written as Linux writes it:
//
//     prepare_to_wait(wq, TASK_INTERRUPTIBLE)     waker:  cond = true
//     if (!cond) schedule()                               wake_up(wq) -> try_to_wake_up
//     finish_wait(wq)
//
// Setting the state before testing the condition closes the lost-wake-up race: a wake-up
// between the test and schedule() makes the task TASK_RUNNING, so schedule() keeps it.
using Kernel.Core.Locking;
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed partial class Machine
{
    /// <summary>prepare_to_wait(_exclusive): queue the executing task and set its state.</summary>
    public void PrepareToWait(WaitQueueHead wq, TaskState state, bool exclusive = false)
    {
        ArgumentNullException.ThrowIfNull(wq);
        var p = RequireExecuting();
        var e = p.WaitEntry;
        if (e.Head is null)
        {
            e.Exclusive = exclusive;
            e.AutoRemove = true;
            e.WakeFunction = null;
            wq.Add(e);
        }
        p.State = state;
    }

    /// <summary>finish_wait: back to TASK_RUNNING and off the queue.</summary>
    public void FinishWait(WaitQueueHead wq)
    {
        var p = RequireExecuting();
        p.State = TaskState.TASK_RUNNING;
        wq.Remove(p.WaitEntry);
    }

    /// <summary>signal_pending(current).</summary>
    public static bool SignalPending(TaskStruct p) => (p.ThreadFlags & ThreadInfoFlags.TIF_SIGPENDING) != 0;

    /// <summary>
    /// wait_event(_interruptible): sleep until `condition` holds. Returns true when it holds, false
    /// when an interruptible wait was broken by a signal (the caller returns -ERESTARTSYS/-EINTR).
    /// </summary>
    public async ValueTask<bool> WaitEvent(WaitQueueHead wq, Func<bool> condition, bool interruptible = true, bool exclusive = false)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var state = interruptible ? TaskState.TASK_INTERRUPTIBLE : TaskState.TASK_UNINTERRUPTIBLE;
        while (true)
        {
            var p = RequireExecuting();
            PrepareToWait(wq, state, exclusive);
            if (condition())
            {
                break;
            }
            if (interruptible && SignalPending(p))
            {
                FinishWait(wq);
                return false;
            }
            await Schedule();
        }
        FinishWait(wq);
        return true;
    }

    /// <summary>wake_up / wake_up_interruptible / wake_up_all on a queue.</summary>
    public int WakeUp(WaitQueueHead wq, TaskState mode = TaskState.TASK_INTERRUPTIBLE | TaskState.TASK_UNINTERRUPTIBLE, int nrExclusive = 1, bool sync = false)
    {
        ArgumentNullException.ThrowIfNull(wq);
        return wq.WakeUp(mode, nrExclusive, sync);
    }
}
