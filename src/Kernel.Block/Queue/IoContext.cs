// Linux 2.6.20 block/ll_rw_blk.c struct io_context: a task's I/O state that the block layer and
// the elevators keep. get_request uses the batching part: a task that slept for a request becomes
// a "batcher" and may take up to BLK_BATCH_REQ more within BLK_BATCH_TIME (HZ/50) even while the
// queue is full. AS hangs its per-process history here (aic) and CFQ one cfq_io_context per queue
// (cic_root). Each task gets one on first use (current_io_context); the table keeps Core unaware
// of it. exit_io_context tells both schedulers that the task is gone.
using System.Runtime.CompilerServices;
using Kernel.Core.Tasks;

namespace Kernel.Block;

public sealed class IoContext
{
    private static readonly ConditionalWeakTable<TaskStruct, IoContext> Contexts = new();

    private IoContext(TaskStruct task) => Task = task;

    /// <summary>The task it belongs to.</summary>
    public TaskStruct Task { get; }

    /// <summary>ioc->task is NULL: the task has exited (exit_io_context).</summary>
    public bool Exited { get; private set; }

    /// <summary>aic: the anticipatory scheduler's per-process statistics, made when AS first sees the task.</summary>
    public AsIoContext? Aic { get; internal set; }

    /// <summary>cic_root: CFQ's state for this task on each queue that runs CFQ, keyed by that queue's CFQ instance.</summary>
    internal Dictionary<CfqElevator, CfqIoContext> Cics { get; } = new();

    /// <summary>ioprio_changed: ioprio_set ran; CFQ refiles the task's queues on its next request.</summary>
    internal bool IoprioChanged { get; set; }

    /// <summary>nr_batch_requests: requests this task may still take as a batcher.</summary>
    public int NrBatchRequests { get; internal set; }

    /// <summary>last_waited: jiffies when it last became a batcher.</summary>
    public uint LastWaited { get; internal set; }

    /// <summary>current_io_context: the task's, made on first use.</summary>
    public static IoContext Of(TaskStruct task) => Contexts.GetValue(task, t => new IoContext(t));

    /// <summary>The task's context if it has made one.</summary>
    public static IoContext? Existing(TaskStruct task) => Contexts.TryGetValue(task, out var ioc) ? ioc : null;

    /// <summary>
    /// exit_io_context, from do_exit: the task is gone (AS stops anticipating it; CFQ drops the
    /// task's references on its queues, which go once their requests are done).
    /// </summary>
    public static void Exit(TaskStruct task)
    {
        if (Existing(task) is not { } ioc || ioc.Exited)
        {
            return;
        }
        ioc.Exited = true;
        foreach (var cic in ioc.Cics.Values.ToArray())
        {
            cic.Cfqd?.ExitSingleIoContext(cic);
        }
    }

    /// <summary>set_task_ioprio's flag: the task's ioprio changed.</summary>
    public static void IoprioSet(TaskStruct task, int ioprio)
    {
        ArgumentNullException.ThrowIfNull(task);
        task.IoPrio = (ushort)ioprio;
        if (Existing(task) is { } ioc)
        {
            ioc.IoprioChanged = true;
        }
    }
}
