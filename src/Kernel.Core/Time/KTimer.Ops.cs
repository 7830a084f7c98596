// add_timer / mod_timer / del_timer and hrtimer_start / hrtimer_cancel on a timer, and
// run_timer_softirq over a CPU's base. The per-CPU bases (tvec_bases) belong to the machine.
using Kernel.Core.Smp;

namespace Kernel.Core.Time;

public sealed partial class KTimer
{
    /// <summary>hrtimer_start (absolute ns) on this CPU's base. Re-arming a pending timer moves it.</summary>
    public void Start(Machine m, long expiresNs)
    {
        ArgumentNullException.ThrowIfNull(m);
        Del(m);
        var cpu = m.ThisCpu?.Id ?? 0;
        var b = m.TimerBases[cpu];
        Gen++;
        Pending = true;
        ExpiresNs = expiresNs;
        Cpu = cpu;
        b.Heap.Enqueue((this, Gen), (expiresNs, b.Seq++));
        b.ArmedCount++;
    }

    /// <summary>mod_timer: expire when jiffies reaches `expires` (wrap-safe 32-bit compare).</summary>
    public void Mod(Machine m, uint expires)
    {
        ArgumentNullException.ThrowIfNull(m);
        // The tick that makes jiffies == expires happens (expires - jiffies) ticks after the last one.
        long delta = (int)(expires - m.Jiffies);
        long lastTick = (long)(m.Jiffies64 - m.Hz.InitialJiffies) * m.Hz.TickNsec;
        long due = delta <= 0 ? m.Now : lastTick + delta * m.Hz.TickNsec;
        Start(m, due);
    }

    /// <summary>del_timer / hrtimer_cancel: true if the timer was pending.</summary>
    public bool Del(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (!Pending)
        {
            return false;
        }
        Pending = false;
        Gen++;
        m.TimerBases[Cpu].ArmedCount--;
        return true;
    }

    /// <summary>run_timer_softirq (TIMER_SOFTIRQ's action): every timer of `cpu`'s base that is due.</summary>
    internal static void RunTimerSoftirq(Machine m, Cpu cpu)
    {
        var b = m.TimerBases[cpu.Id];
        while (b.Heap.TryPeek(out var entry, out var key) && key.Expires <= m.Now)
        {
            b.Heap.Dequeue();
            var (t, gen) = entry;
            if (gen != t.Gen || !t.Pending)
            {
                continue;
            }
            t.Pending = false;
            b.ArmedCount--;
            t.Function(t);
        }
    }
}
