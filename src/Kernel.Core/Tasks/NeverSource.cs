// What a program awaits after exit or exit_group: a wait that never completes. It drops the
// continuation it is handed, so the exited program's state machine becomes garbage once the
// task is gone, and one shared instance serves every exit without allocating.
using System.Threading.Tasks.Sources;

namespace Kernel.Core.Tasks;

internal sealed class NeverSource : IValueTaskSource
{
    public static readonly NeverSource Instance = new();

    private NeverSource()
    {
    }

    public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
    }

    public void GetResult(short token) => throw new KernelBug("an exited task's code was resumed");
}
