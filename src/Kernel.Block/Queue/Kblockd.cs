// Linux 2.6.20 kblockd: the block layer's workqueue (create_workqueue("kblockd"), one worker
// thread per CPU, kblockd/N, at nice -5 as worker_thread sets it). kblockd_schedule_work queues
// work on the submitting CPU's worker and wakes it; the worker runs the items in order in process
// context and sleeps when its list is empty. The unplug timer uses it, as 2.6.20 does, so that
// request_fn runs outside softirq context.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Block;

public sealed class Kblockd
{
    private readonly Machine _m;
    private readonly Queue<Action>[] _work;
    private readonly TaskStruct?[] _threads;
    private readonly HashSet<Action>[] _pending;

    internal Kblockd(Machine m)
    {
        _m = m;
        int n = m.Cpus.Length;
        _work = Enumerable.Range(0, n).Select(_ => new Queue<Action>()).ToArray();
        _pending = Enumerable.Range(0, n).Select(_ => new HashSet<Action>(ReferenceEqualityComparer.Instance)).ToArray();
        _threads = new TaskStruct?[n];
    }

    /// <summary>Work items run so far.</summary>
    public long Runs { get; private set; }

    /// <summary>The worker of `cpu`.</summary>
    public TaskStruct Thread(int cpu) => _threads[cpu] ?? throw new InvalidOperationException("kblockd has not been started (a request queue starts it)");

    /// <summary>Start the workers (from host-side set-up: a kernel thread cannot be made from emulated code here).</summary>
    public void Start()
    {
        for (int cpu = 0; cpu < _threads.Length; cpu++)
        {
            _threads[cpu] ??= Start(cpu);
        }
    }

    /// <summary>
    /// kblockd_schedule_work (queue_work): run `work` on this CPU's worker. Work already queued and
    /// not yet run is not queued twice (WORK_STRUCT_PENDING).
    /// </summary>
    public void ScheduleWork(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        int cpu = _m.ThisCpu?.Id ?? 0;
        if (!_pending[cpu].Add(work))
        {
            return;
        }
        _work[cpu].Enqueue(work);
        _m.WakeUpProcess(Thread(cpu));
    }

    private TaskStruct Start(int cpu)
    {
        var t = _m.KthreadCreate($"kblockd/{cpu}", self => Worker(self, cpu), cpu);
        t.CpusAllowed = CpuMask.Of(cpu);
        _m.Scheduler.SetUserNice(t, -5);
        return t;
    }

    private async ValueTask Worker(TaskStruct self, int cpu)
    {
        var q = _work[cpu];
        while (true)
        {
            if (!q.TryDequeue(out var work))
            {
                self.State = TaskState.TASK_INTERRUPTIBLE;
                await _m.Schedule();
                continue;
            }
            _pending[cpu].Remove(work);
            Runs++;
            work();
        }
    }
}
