// Sleeping on wait queues (kernel/wait.c prepare_to_wait/finish_wait, wait_event*) from async
// kernel paths. The classic loop, written as Linux writes it:
//
//     prepare_to_wait(wq, TASK_INTERRUPTIBLE)     waker:  cond = true
//     if (!cond) schedule()                               wake_up(wq) -> try_to_wake_up
//     finish_wait(wq)
//
// Setting the state before testing the condition closes the lost-wake-up race: a wake-up
// between the test and schedule() makes the task TASK_RUNNING, so schedule() keeps it.
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed partial class WaitQueueHead
{
    /// <summary>prepare_to_wait(_exclusive): queue the executing task and set its state.</summary>
    public void PrepareToWait(Machine m, TaskState state, bool exclusive = false, long key = 0)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        var e = p.WaitEntry;
        if (e.Head is null)
        {
            e.Exclusive = exclusive;
            e.AutoRemove = true;
            e.WakeFunction = null;
            e.Key = key;
            Add(e);
        }
        p.State = state;
    }

    /// <summary>finish_wait: back to TASK_RUNNING and off the queue.</summary>
    public void FinishWait(Machine m)
    {
        var p = m.RequireExecuting();
        p.State = TaskState.TASK_RUNNING;
        Remove(p.WaitEntry);
    }

    /// <summary>
    /// wait_event(_interruptible): sleep until `condition` holds. Returns true when it holds, false
    /// when an interruptible wait was broken by a signal (the caller returns -ERESTARTSYS/-EINTR).
    /// </summary>
    public async ValueTask<bool> WaitEvent(Machine m, Func<bool> condition, bool interruptible = true, bool exclusive = false)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var state = interruptible ? TaskState.TASK_INTERRUPTIBLE : TaskState.TASK_UNINTERRUPTIBLE;
        while (true)
        {
            var p = m.RequireExecuting();
            PrepareToWait(m, state, exclusive);
            if (condition())
            {
                break;
            }
            if (interruptible && Machine.SignalPending(p))
            {
                FinishWait(m);
                return false;
            }
            await m.Schedule();
        }
        FinishWait(m);
        return true;
    }
}
