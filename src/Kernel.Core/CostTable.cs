// What kernel work costs in simulated time. Every kernel operation charges from this table, so a
// user can ask "what if context switches cost twice as much" and rerun. The defaults are
// ballpark figures for a ~2 GHz x86 of 2006 (lmbench-era numbers), not measurements of any one box.
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

    /// <summary>Latency of a reschedule inter-processor interrupt.</summary>
    public long IpiNs { get; init; } = 1_000;

    /// <summary>copy_process without the memory image.</summary>
    public long ForkNs { get; init; } = 25_000;

    /// <summary>do_exit and release_task.</summary>
    public long ExitNs { get; init; } = 10_000;

    /// <summary>Acquiring an uncontended spinlock.</summary>
    public long SpinLockNs { get; init; } = 20;

    /// <summary>Each task examined by the 2.4 goodness() loop.</summary>
    public long GoodnessPerTaskNs { get; init; } = 40;

    /// <summary>An order-0 page from or to a per-CPU list (no zone lock).</summary>
    public long PageAllocNs { get; init; } = 100;

    /// <summary>How long buddy-list work holds zone->lock (per call, per block moved).</summary>
    public long ZoneLockHoldNs { get; init; } = 150;

    /// <summary>A minor page fault: trap, walk, allocate and clear or copy a page, return.</summary>
    public long PageFaultNs { get; init; } = 1_000;

    /// <summary>Each PTE a reverse-map walk (or a 2.4 page-table scan) examines.</summary>
    public long RmapPteNs { get; init; } = 25;

    public static CostTable Default { get; } = new();

    /// <summary>A table where kernel work is free: useful to isolate policy from overhead.</summary>
    public static CostTable Free { get; } = new()
    {
        SyscallNs = 0, ContextSwitchNs = 0, TimerTickNs = 0, RunqueueLockHoldNs = 0, WakeupNs = 0,
        MigrationNs = 0, IpiNs = 0, ForkNs = 0, ExitNs = 0, SpinLockNs = 0, GoodnessPerTaskNs = 0,
        PageAllocNs = 0, ZoneLockHoldNs = 0, PageFaultNs = 0, RmapPteNs = 0,
    };

    internal void Validate()
    {
        foreach (var (name, v) in new (string, long)[]
        {
            (nameof(SyscallNs), SyscallNs), (nameof(ContextSwitchNs), ContextSwitchNs),
            (nameof(TimerTickNs), TimerTickNs), (nameof(RunqueueLockHoldNs), RunqueueLockHoldNs),
            (nameof(WakeupNs), WakeupNs), (nameof(MigrationNs), MigrationNs), (nameof(IpiNs), IpiNs),
            (nameof(ForkNs), ForkNs), (nameof(ExitNs), ExitNs), (nameof(SpinLockNs), SpinLockNs),
            (nameof(GoodnessPerTaskNs), GoodnessPerTaskNs), (nameof(PageAllocNs), PageAllocNs),
            (nameof(ZoneLockHoldNs), ZoneLockHoldNs), (nameof(PageFaultNs), PageFaultNs), (nameof(RmapPteNs), RmapPteNs),
        })
        {
            if (v < 0)
            {
                throw new ArgumentException($"Cost {name} must not be negative (was {v}).");
            }
        }
    }
}
