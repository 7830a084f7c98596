// Linux 2.6.20 mm/oom_kill.c: when reclaim can free nothing, out_of_memory picks the process
// whose death frees the most for the least loss: badness() starts from its total_vm, adds half
// of each child's own mm, divides by the square root of its CPU time (in tens of seconds) and the
// fourth root of its run time (in thousands of seconds), doubles it for a positive nice, quarters
// it for root or CAP_SYS_ADMIN (and CAP_SYS_RAWIO, which root has here), and shifts it by
// oom_adj. Init, kernel threads and tasks without an mm are never chosen, nor a task with
// oom_adj OOM_DISABLE (-17); while a victim chosen earlier (TIF_MEMDIE) is still dying, nobody
// else is. The victim (or first one of its children with its own mm) gets SIGKILL and
// TIF_MEMDIE, which lets its allocations ignore the watermarks so it can exit.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Mm.Vmscan;

public sealed class OomKiller
{
    /// <summary>OOM_DISABLE: oom_adj that exempts a task.</summary>
    public const int OOM_DISABLE = -17;

    public const int OOM_ADJUST_MIN = -16;
    public const int OOM_ADJUST_MAX = 15;

    private readonly MemorySubsystem _mem;

    internal OomKiller(MemorySubsystem mem) => _mem = mem;

    /// <summary>Processes killed so far.</summary>
    public long Kills { get; private set; }

    /// <summary>What it printed (the "invoked oom-killer", "Out of memory: kill process", "Killed process" lines).</summary>
    public List<string> Log { get; } = new();

    private Machine M => _mem.Machine;

    /// <summary>badness(p, uptime): the task's OOM score (0 for a task without an mm).</summary>
    public long Badness(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var mm = Memory.MmStruct.Of(p);
        if (mm is null || p.IsKernelThread)
        {
            return 0;
        }
        if ((p.Flags & TaskFlags.PF_SWAPOFF) != 0)
        {
            return long.MaxValue; // swapoff can easily use up all memory: kill it first (ULONG_MAX)
        }
        long points = mm.TotalVm;
        foreach (var child in p.Children)
        {
            if (Memory.MmStruct.Of(child) is { } cmm && cmm != mm)
            {
                points += cmm.TotalVm / 2 + 1;
            }
        }
        int shiftHz = 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)M.Hz.Value); // SHIFT_HZ
        long cpuTime = (p.Utime + p.Stime) >> (shiftHz + 3);
        long uptime = M.Now / 1_000_000_000;
        long start = p.StartTimeNs / 1_000_000_000;
        long runTime = uptime >= start ? (uptime - start) >> 10 : 0;
        long s = IntSqrt(cpuTime);
        if (s != 0)
        {
            points /= s;
        }
        s = IntSqrt(IntSqrt(runTime));
        if (s != 0)
        {
            points /= s;
        }
        if (p.Nice > 0)
        {
            points *= 2;
        }
        if (p.Uid == 0 || p.Euid == 0)
        {
            points /= 4; // CAP_SYS_ADMIN, uid or euid 0
            points /= 4; // CAP_SYS_RAWIO (root has every capability here)
        }
        if (p.OomKillAdj > 0)
        {
            points <<= p.OomKillAdj;
        }
        else if (p.OomKillAdj < 0)
        {
            points >>= -p.OomKillAdj;
        }
        return points;
    }

    private static long IntSqrt(long x) => x <= 0 ? 0 : (long)Math.Sqrt(x);

    private static bool IsInit(TaskStruct p) => p.Pid == 1;

    /// <summary>select_bad_process: the task with the most points; null for none; `waiting` when a victim is still dying.</summary>
    private TaskStruct? SelectBadProcess(out long points, out bool waiting)
    {
        points = 0;
        waiting = false;
        TaskStruct? chosen = null;
        var current = M.ThisCpu.Curr;
        foreach (var p in M.Tasks)
        {
            if (p.IsKernelThread || p.IsIdleTask || Memory.MmStruct.Of(p) is null || IsInit(p) || p.ExitState != 0)
            {
                continue;
            }
            if ((p.ThreadFlags & ThreadInfoFlags.TIF_MEMDIE) != 0)
            {
                waiting = true;
                return null;
            }
            if ((p.Flags & TaskFlags.PF_EXITING) != 0)
            {
                if (p != current)
                {
                    waiting = true;
                    return null;
                }
                chosen = p;
                points = long.MaxValue;
            }
            if (p.OomKillAdj == OOM_DISABLE)
            {
                continue;
            }
            long pts = Badness(p);
            if (pts > points || chosen is null)
            {
                chosen = p;
                points = pts;
            }
        }
        return chosen;
    }

    private void Print(string line)
    {
        Log.Add(line);
        M.RecordWarning(M.ThisCpu, line);
    }

    /// <summary>__oom_kill_task: SIGKILL and TIF_MEMDIE.</summary>
    private void KillTask(TaskStruct p, bool verbose)
    {
        if (verbose)
        {
            Print($"Killed process {p.Pid} ({p.Comm})");
        }
        p.ThreadFlags |= ThreadInfoFlags.TIF_MEMDIE;
        Kills++;
        if (_mem.Tracepoints.MarkVictim.Enabled)
        {
            _mem.Tracepoints.MarkVictim.Emit(new OomMarkVictim(M.Now, M.ThisCpu.Id, p.Pid, p.Comm));
        }
        M.ForceSig(p, 9); // SIGKILL
    }

    /// <summary>oom_kill_task: false when the task may not be killed (its mm is gone, or OOM_DISABLE).</summary>
    private bool OomKillTask(TaskStruct p)
    {
        var mm = Memory.MmStruct.Of(p);
        if (mm is null || p.OomKillAdj == OOM_DISABLE)
        {
            return false;
        }
        KillTask(p, verbose: true);
        foreach (var q in M.Tasks)
        {
            if (q != p && Memory.MmStruct.Of(q) == mm && q.Tgid != p.Tgid)
            {
                M.ForceSig(q, 9);
            }
        }
        return true;
    }

    /// <summary>oom_kill_process: a child with its own mm first, else the process.</summary>
    private bool OomKillProcess(TaskStruct p, long points)
    {
        if ((p.Flags & TaskFlags.PF_EXITING) != 0)
        {
            KillTask(p, verbose: false);
            return true;
        }
        Print($"Out of memory: kill process {p.Pid} ({p.Comm}) score {points} or a child");
        var mm = Memory.MmStruct.Of(p);
        foreach (var c in p.Children)
        {
            if (Memory.MmStruct.Of(c) != mm && c.ExitState == 0 && OomKillTask(c))
            {
                return true;
            }
        }
        return OomKillTask(p);
    }

    /// <summary>
    /// out_of_memory: kill the worst process. True when a task was killed or a victim is still
    /// dying (the allocator waits a tick and retries); false when nothing can be killed (2.6.20
    /// panics there; here the allocation fails, and the fault path kills the faulting task).
    /// </summary>
    public bool OutOfMemory(Gfp gfp, int order)
    {
        var current = M.ThisCpu.Curr;
        Print($"{current.Comm} invoked oom-killer: gfp_mask=0x{(uint)gfp:x}, order={order}, oomkilladj={current.OomKillAdj}");
        while (true)
        {
            var p = SelectBadProcess(out long points, out bool waiting);
            if (waiting)
            {
                return true;
            }
            if (p is null)
            {
                Print("Out of memory and no killable processes...");
                return false;
            }
            if (OomKillProcess(p, points))
            {
                return true;
            }
        }
    }
}
