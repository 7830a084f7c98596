// The wait_queue_t a task uses for prepare_to_wait: one per task, reused on every sleep.
using Kernel.Core.Locking;

namespace Kernel.Core.Tasks;

public sealed partial class TaskStruct
{
    private WaitQueueEntry? _waitEntry;

    public WaitQueueEntry WaitEntry => _waitEntry ??= new WaitQueueEntry(this);
}
