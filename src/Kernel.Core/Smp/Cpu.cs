// One emulated CPU: what it is running, the segment of simulated time that task is consuming,
// whether it is spinning on a lock, and its kernel_stat counters. A CPU never runs host code on
// its own; the machine's event loop acts on its behalf at each event.
using Kernel.Core.Events;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;

namespace Kernel.Core.Smp;

public sealed class Cpu : IEventTarget
{
    internal const long KindSegment = 0;
    internal const long KindTick = 1;
    internal const long KindIpi = 2;

    internal Cpu(Machine machine, int id)
    {
        Machine = machine;
        Id = id;
    }

    public Machine Machine { get; }

    public int Id { get; }

    /// <summary>rq->curr: the task this CPU runs (its idle task when nothing else).</summary>
    public TaskStruct Curr { get; internal set; } = null!;

    public TaskStruct Idle { get; internal set; } = null!;

    public bool IsIdle => Curr == Idle;

    // ---- The current segment: Curr consumes [SegStart, SegEnd) unless interrupted ----
    internal bool SegActive;
    internal long SegStart;
    internal long SegEnd;
    internal long SegGen;

    // ---- Spinning on a contended lock ----
    public KSpinLock? SpinningOn { get; internal set; }
    public KRwLock? SpinningOnRw { get; internal set; }
    internal long SpinStart;

    /// <summary>Spinning on a contended spinlock or rwlock.</summary>
    public bool IsSpinning => SpinningOn is not null || SpinningOnRw is not null;

    internal bool DispatchQueued;
    /// <summary>Kernel time spent while idle (in schedule()), owed by the next task to run.</summary>
    internal long CarriedDebtNs;
    /// <summary>Device interrupts that arrived while interrupts were off, taken at local_irq_enable.</summary>
    internal Queue<Action<Cpu>>? DeferredIrqs;
    internal bool TickDeferred;
    internal bool IpiInFlight;

    /// <summary>kernel_stat cpustat, in jiffies (tick-sampled as 2.6.20 does).</summary>
    public CpuStat Stat { get; } = new();

    /// <summary>Exact busy nanoseconds (any task but idle), known only to the emulator.</summary>
    public long BusyNs { get; internal set; }

    /// <summary>Interrupts handled on this CPU (for /proc/stat intr).</summary>
    public long Interrupts { get; internal set; }

    public void OnEvent(long arg) => Machine.OnCpuEvent(this, arg);

    public override string ToString() => $"cpu{Id}";
}

/// <summary>struct cpu_usage_stat: jiffies spent in each state.</summary>
public sealed class CpuStat
{
    public long User { get; internal set; }
    public long Nice { get; internal set; }
    public long System { get; internal set; }
    public long Softirq { get; internal set; }
    public long Irq { get; internal set; }
    public long Idle { get; internal set; }
    public long Iowait { get; internal set; }
    public long Steal { get; internal set; }
}
