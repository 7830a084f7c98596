// Linux 2.6.20 block/ll_rw_blk.c struct io_context, the part get_request uses: a task that slept
// for a request becomes a "batcher" and may take up to BLK_BATCH_REQ more within BLK_BATCH_TIME
// (HZ/50) even while the queue is full, so the sleeper that was woken makes progress as a batch.
// Each task gets one on first use (current_io_context); the table keeps Core unaware of it.
using System.Runtime.CompilerServices;
using Kernel.Core.Tasks;

namespace Kernel.Block;

public sealed class IoContext
{
    private static readonly ConditionalWeakTable<TaskStruct, IoContext> Contexts = new();

    private IoContext(TaskStruct task) => Task = task;

    /// <summary>The task it belongs to.</summary>
    public TaskStruct Task { get; }

    /// <summary>aic: the anticipatory scheduler's per-process statistics, made when AS first sees the task.</summary>
    public AsIoContext? Aic { get; internal set; }

    /// <summary>nr_batch_requests: requests this task may still take as a batcher.</summary>
    public int NrBatchRequests { get; internal set; }

    /// <summary>last_waited: jiffies when it last became a batcher.</summary>
    public uint LastWaited { get; internal set; }

    /// <summary>current_io_context: the task's, made on first use.</summary>
    public static IoContext Of(TaskStruct task) => Contexts.GetValue(task, t => new IoContext(t));
}
