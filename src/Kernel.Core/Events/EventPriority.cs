// Tie-breaking order for events at the same nanosecond, lowest first. Interrupts run before the
// work they interrupt would complete, so a tick at time t sees the CPU still busy at t.
namespace Kernel.Core.Events;

public enum EventPriority
{
    /// <summary>The global timer interrupt (do_timer on the boot CPU: jiffies advance first).</summary>
    GlobalTick = 0,
    /// <summary>Per-CPU local timer interrupts.</summary>
    LocalTick = 1,
    /// <summary>Inter-processor interrupts (reschedule, call function).</summary>
    Ipi = 2,
    /// <summary>Device interrupts (disk completion).</summary>
    Device = 3,
    /// <summary>End of a compute or kernel-work segment.</summary>
    Segment = 4,
    /// <summary>Host-requested stops and anything else.</summary>
    Other = 5,
}
