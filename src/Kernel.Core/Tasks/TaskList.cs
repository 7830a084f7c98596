// Linux 2.6.20's task list and pid hash (kernel/pid.c, include/linux/sched.h for_each_process):
// every task from copy_process until release_task, found by pid, walked in creation order. It
// lives in Core so that the memory subsystem (the OOM killer, kswapd) and a block layer can walk
// tasks without the process layer. Tasks are linked through TaskStruct fields (the tasks
// list_head), so adding, removing and walking allocate nothing.
namespace Kernel.Core.Tasks;

public sealed class TaskList
{
    private readonly Dictionary<int, TaskStruct> _pidHash = new();
    private TaskStruct? _head;
    private TaskStruct? _tail;

    public TaskList(PidMap pids)
    {
        ArgumentNullException.ThrowIfNull(pids);
        Pids = pids;
    }

    /// <summary>The pid bitmap the tasks' pids come from.</summary>
    public PidMap Pids { get; }

    /// <summary>nr_threads: tasks from copy_process until release_task (zombies included).</summary>
    public int Count => _pidHash.Count;

    /// <summary>find_task_by_pid.</summary>
    public TaskStruct? Find(int pid) => _pidHash.GetValueOrDefault(pid);

    /// <summary>attach_pid + list_add_tail(&amp;p->tasks): the task becomes visible.</summary>
    public void Add(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        _pidHash.Add(p.Pid, p);
        p.TasksPrev = _tail;
        p.TasksNext = null;
        if (_tail is null)
        {
            _head = p;
        }
        else
        {
            _tail.TasksNext = p;
        }
        _tail = p;
    }

    /// <summary>__unhash_process: the task and its pid go.</summary>
    public void Remove(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (!_pidHash.Remove(p.Pid))
        {
            throw new KernelBug($"__unhash_process: {p} is not in the task list");
        }
        if (p.TasksPrev is null)
        {
            _head = p.TasksNext;
        }
        else
        {
            p.TasksPrev.TasksNext = p.TasksNext;
        }
        if (p.TasksNext is null)
        {
            _tail = p.TasksPrev;
        }
        else
        {
            p.TasksNext.TasksPrev = p.TasksPrev;
        }
        p.TasksNext = p.TasksPrev = null;
        Pids.Free(p.Pid);
    }

    /// <summary>for_each_process: every task in creation order (do not add or remove while walking).</summary>
    public Enumerator GetEnumerator() => new(_head);

    /// <summary>A struct enumerator over the tasks list: `foreach` over it allocates nothing.</summary>
    public struct Enumerator
    {
        private TaskStruct? _next;

        internal Enumerator(TaskStruct? head)
        {
            _next = head;
            Current = null!;
        }

        public TaskStruct Current { get; private set; }

        public bool MoveNext()
        {
            if (_next is null)
            {
                return false;
            }
            Current = _next;
            _next = _next.TasksNext;
            return true;
        }
    }
}
