// The single suspension point of a task. Every blocking kernel primitive (compute, schedule,
// spin, sleep) parks the task here and the machine resumes it with SetResult. Continuations run
// inline on the machine's thread: the captured scheduling and execution contexts are ignored on
// purpose, because only the machine may decide when emulated code runs. One instance per task,
// reset on each use: a suspend/resume costs no host allocation.
using System.Threading.Tasks.Sources;

namespace Kernel.Core.Tasks;

internal sealed class TaskWaiter : IValueTaskSource<long>, IValueTaskSource
{
    private ManualResetValueTaskSourceCore<long> _core;
    private readonly TaskStruct _task;

    public TaskWaiter(TaskStruct task)
    {
        _task = task;
    }

    public bool Pending { get; private set; }

    public ValueTask<long> SuspendForValue()
    {
        Arm();
        return new ValueTask<long>(this, _core.Version);
    }

    public ValueTask Suspend()
    {
        Arm();
        return new ValueTask(this, _core.Version);
    }

    private void Arm()
    {
        if (Pending)
        {
            throw new KernelBug($"task {_task} suspended twice: a kernel path did not await its own suspension");
        }
        _core.Reset();
        Pending = true;
    }

    public void Resume(long value)
    {
        Pending = false;
        _core.SetResult(value);
    }

    public long GetResult(short token) => _core.GetResult(token);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, ValueTaskSourceOnCompletedFlags.None);
}
