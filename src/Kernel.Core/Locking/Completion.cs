// struct completion (kernel/sched.c complete/wait_for_completion): a counted event with a queue
// of exclusive waiters. complete() lets one waiter through, complete_all() every one.
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed class Completion
{
    public Completion(string name = "completion")
    {
        Wait = new WaitQueueHead(name);
    }

    public uint Done { get; private set; }

    public WaitQueueHead Wait { get; }

    public void Complete()
    {
        Done++;
        Wait.WakeUp(TaskState.TASK_UNINTERRUPTIBLE | TaskState.TASK_INTERRUPTIBLE, 1);
    }

    public void CompleteAll()
    {
        Done += uint.MaxValue / 2;
        Wait.WakeUp(TaskState.TASK_UNINTERRUPTIBLE | TaskState.TASK_INTERRUPTIBLE, 0);
    }

    /// <summary>wait_for_completion: uninterruptible until Done > 0, then consume one.</summary>
    public async ValueTask WaitForCompletion(Machine m)
    {
        await Wait.WaitEvent(m, () => Done > 0, interruptible: false, exclusive: true);
        Done--;
    }

    public void Reinit() => Done = 0;
}
