// The task's side of priority inheritance (task_struct's pi_waiters and pi_blocked_on): the top
// waiter of every rt_mutex it owns, and the waiter it is itself blocked as. Allocated on first
// use, so the many tasks that never touch a PI lock carry nothing.
using Kernel.Core.Locking;

namespace Kernel.Core.Tasks;

public sealed partial class TaskStruct
{
    private Plist<RtMutexWaiter>? _piWaiters;

    internal Plist<RtMutexWaiter> PiWaiters => _piWaiters ??= new();

    internal Plist<RtMutexWaiter>? PiWaitersOrNull => _piWaiters;

    /// <summary>pi_blocked_on: the rt_mutex waiter this task is blocked as, or null.</summary>
    public RtMutexWaiter? PiBlockedOn { get; internal set; }
}
