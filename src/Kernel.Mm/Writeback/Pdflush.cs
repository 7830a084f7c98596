// Linux 2.6.20 mm/pdflush.c: a pool of kernel threads that run writeback work handed to them by
// pdflush_operation (background_writeout from balance_dirty_pages, wb_kupdate from the writeback
// timer). An idle thread sleeps on the pdflush list; pdflush_operation takes the first idle one,
// gives it the function and wakes it, or fails (-1) when all are busy. The pool starts with
// MIN_PDFLUSH_THREADS (2) when the first block device is attached (before that, nothing can be
// written back); growing it towards MAX_PDFLUSH_THREADS needs kernel threads made at run time,
// which the emulator does not make yet, so it stays at two.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Mm.Writeback;

public sealed partial class PageWriteback
{
    public const int MIN_PDFLUSH_THREADS = 2;
    public const int MAX_PDFLUSH_THREADS = 8;

    private sealed class PdflushWork
    {
        public required TaskStruct Task { get; set; }

        public Func<long, ValueTask>? Fn { get; set; }

        public long Arg { get; set; }

        public uint WhenIWentToSleep { get; set; }
    }

    private readonly List<PdflushWork> _pdflush = new();
    private readonly LinkedList<PdflushWork> _idle = new();

    /// <summary>nr_pdflush_threads (/proc/sys/vm/nr_pdflush_threads).</summary>
    public int NrPdflushThreads => _pdflush.Count;

    /// <summary>The pdflush threads.</summary>
    public IEnumerable<TaskStruct> PdflushThreads => _pdflush.Select(w => w.Task);

    /// <summary>pdflush_init: start the minimum pool (host-side, like the other boot-time kernel threads); idempotent.</summary>
    public void StartPdflush()
    {
        while (_pdflush.Count < MIN_PDFLUSH_THREADS)
        {
            var work = new PdflushWork { Task = null! };
            work.Task = M.KthreadCreate("pdflush", self => PdflushMain(self, work), wake: false);
            _pdflush.Add(work);
            _idle.AddFirst(work);
        }
    }

    /// <summary>pdflush_operation: hand `fn(arg)` to an idle pdflush thread; false when none is idle.</summary>
    public bool PdflushOperation(Func<long, ValueTask> fn, long arg)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var first = _idle.First;
        if (first is null)
        {
            return false;
        }
        _idle.RemoveFirst();
        first.Value.Fn = fn;
        first.Value.Arg = arg;
        M.WakeUpProcess(first.Value.Task);
        return true;
    }

    private async ValueTask PdflushMain(TaskStruct self, PdflushWork work)
    {
        self.Flags |= TaskFlags.PF_SWAPWRITE;
        while (true)
        {
            if (work.Fn is { } fn)
            {
                work.Fn = null;
                await fn(work.Arg);
                if (!_idle.Contains(work))
                {
                    _idle.AddFirst(work); // list_move(&my_work->list, &pdflush_list)
                }
                work.WhenIWentToSleep = M.Jiffies;
            }
            self.State = TaskState.TASK_INTERRUPTIBLE;
            if (work.Fn is not null)
            {
                self.State = TaskState.TASK_RUNNING; // handed work before we slept
                continue;
            }
            await M.Schedule();
        }
    }
}
