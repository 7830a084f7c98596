// What Core's kernel work costs in simulated time: syscall entry, context switches, the tick,
// runqueue and spinlock holds, wake-ups, IPIs and the fixed part of fork and exit. Subsystems
// above Core declare their own cost records (Kernel.Mm's MmCosts); docs/costs.md tables every
// default with its source. The defaults are ballpark figures for a ~2 GHz x86 of 2006
// (lmbench-era numbers), not measurements of any one box.
namespace Kernel.Core;

public sealed record CostTable
{
    /// <summary>Syscall entry and exit (int 0x80 / sysenter round trip).</summary>
    public long SyscallNs { get; init; } = 150;

    /// <summary>switch_to plus the scheduler's own bookkeeping for one context switch.</summary>
    public long ContextSwitchNs { get; init; } = 2_000;

    /// <summary>Timer interrupt handling per tick (do_timer, update_process_times, scheduler_tick).</summary>
    public long TimerTickNs { get; init; } = 1_500;

    /// <summary>How long schedule() and try_to_wake_up hold a runqueue lock.</summary>
    public long RunqueueLockHoldNs { get; init; } = 250;

    /// <summary>try_to_wake_up on top of the lock hold.</summary>
    public long WakeupNs { get; init; } = 300;

    /// <summary>Moving one task between runqueues (pull_task, cache refill not included).</summary>
    public long MigrationNs { get; init; } = 1_000;

    /// <summary>A device interrupt's entry and exit (do_IRQ without the handler's own work).</summary>
    public long IrqNs { get; init; } = 1_000;

    /// <summary>Latency of a reschedule inter-processor interrupt.</summary>
    public long IpiNs { get; init; } = 1_000;

    /// <summary>copy_process without the memory image (the mm's copy is charged per VMA and PTE by MmCosts).</summary>
    public long ForkNs { get; init; } = 25_000;

    /// <summary>do_exit and release_task without the memory image (unmapping is charged per PTE by MmCosts).</summary>
    public long ExitNs { get; init; } = 10_000;

    /// <summary>Acquiring an uncontended spinlock.</summary>
    public long SpinLockNs { get; init; } = 20;

    /// <summary>Each task examined by the 2.4 goodness() loop.</summary>
    public long GoodnessPerTaskNs { get; init; } = 40;

    public static CostTable Default { get; } = new();

    /// <summary>A table where Core's kernel work is free: useful to isolate policy from overhead.</summary>
    public static CostTable Free { get; } = CostRecords.AllFree<CostTable>();

    internal void Validate() => CostRecords.Validate(this);
}
