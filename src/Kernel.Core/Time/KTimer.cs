// A kernel timer. Linux 2.6.20 has two kinds and both are modelled: timer_list (expires in
// jiffies, run from TIMER_SOFTIRQ) and hrtimer (expires in ns). Without CONFIG_HIGH_RES_TIMERS
// (i386 gained it in 2.6.21) hrtimers are also run from the timer softirq, so both fire on the
// first tick of their CPU at or after expiry. The callback runs in softirq context on that CPU.
namespace Kernel.Core.Time;

public sealed partial class KTimer
{
    public KTimer(Action<KTimer> function, object? data = null)
    {
        Function = function ?? throw new ArgumentNullException(nameof(function));
        Data = data;
    }

    public Action<KTimer> Function { get; }

    public object? Data { get; set; }

    /// <summary>timer_pending(): armed and not yet run or deleted.</summary>
    public bool Pending { get; internal set; }

    /// <summary>Expiry in simulated ns (for a timer_list: the time of the expiring jiffy's tick).</summary>
    public long ExpiresNs { get; internal set; }

    /// <summary>The CPU whose timer base holds it.</summary>
    public int Cpu { get; internal set; }

    internal long Gen;
}

/// <summary>Per-CPU timer base (tvec_base + hrtimer_cpu_base): a heap ordered by (expiry, arm order).</summary>
internal sealed class TimerBase
{
    public readonly PriorityQueue<(KTimer Timer, long Gen), (long Expires, long Seq)> Heap = new();
    public long Seq;
    public int ArmedCount;
}
