// Linux 2.6.20 include/linux/hardirq.h: the preempt_count word of thread_info.
//
//   bit 31       28 27              16 15        8 7         0
//      +---------+--+------------------+-----------+-----------+
//      |  unused |PA|  hardirq (12)    | softirq(8)| preempt(8)|
//      +---------+--+------------------+-----------+-----------+
//   PA = PREEMPT_ACTIVE (bit 28): schedule() was entered by preemption, do not dequeue.
namespace Kernel.Core.Tasks;

public static class PreemptCount
{
    public const int PREEMPT_BITS = 8;
    public const int SOFTIRQ_BITS = 8;
    public const int HARDIRQ_BITS = 12;
    public const int PREEMPT_SHIFT = 0;
    public const int SOFTIRQ_SHIFT = PREEMPT_SHIFT + PREEMPT_BITS;
    public const int HARDIRQ_SHIFT = SOFTIRQ_SHIFT + SOFTIRQ_BITS;
    public const int PREEMPT_MASK = ((1 << PREEMPT_BITS) - 1) << PREEMPT_SHIFT;
    public const int SOFTIRQ_MASK = ((1 << SOFTIRQ_BITS) - 1) << SOFTIRQ_SHIFT;
    public const int HARDIRQ_MASK = ((1 << HARDIRQ_BITS) - 1) << HARDIRQ_SHIFT;
    public const int PREEMPT_OFFSET = 1 << PREEMPT_SHIFT;
    public const int SOFTIRQ_OFFSET = 1 << SOFTIRQ_SHIFT;
    public const int HARDIRQ_OFFSET = 1 << HARDIRQ_SHIFT;
    public const int PREEMPT_ACTIVE = 0x10000000;

    public static int HardirqCount(int pc) => pc & HARDIRQ_MASK;

    public static int SoftirqCount(int pc) => pc & SOFTIRQ_MASK;

    public static bool InIrq(int pc) => (pc & HARDIRQ_MASK) != 0;

    public static bool InSoftirq(int pc) => (pc & SOFTIRQ_MASK) != 0;

    /// <summary>in_interrupt(): hard or soft interrupt context.</summary>
    public static bool InInterrupt(int pc) => (pc & (HARDIRQ_MASK | SOFTIRQ_MASK)) != 0;

    /// <summary>in_atomic() (the BKL is not modelled, so kernel_locked() is 0).</summary>
    public static bool InAtomic(int pc) => (pc & ~PREEMPT_ACTIVE) != 0;
}

/// <summary>The three preemption models of Kconfig.preempt (2.6.20).</summary>
public enum PreemptModel
{
    /// <summary>CONFIG_PREEMPT_NONE: preempt only on return to user mode.</summary>
    None,
    /// <summary>CONFIG_PREEMPT_VOLUNTARY: might_sleep() sites are also reschedule points.</summary>
    Voluntary,
    /// <summary>CONFIG_PREEMPT: preempt whenever preempt_count drops to 0 and on interrupt return.</summary>
    Full,
}
