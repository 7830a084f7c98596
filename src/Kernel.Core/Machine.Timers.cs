// add_timer / mod_timer / del_timer and hrtimer_start / hrtimer_cancel, plus run_timer_softirq.
using Kernel.Core.Smp;
using Kernel.Core.Time;

namespace Kernel.Core;

public sealed partial class Machine
{
    private readonly TimerBase[] _timers;

    /// <summary>hrtimer_start (absolute ns) on this CPU's base. Re-arming a pending timer moves it.</summary>
    public void HrTimerStart(KTimer t, long expiresNs)
    {
        ArgumentNullException.ThrowIfNull(t);
        DelTimer(t);
        var cpu = ThisCpu?.Id ?? 0;
        var b = _timers[cpu];
        t.Gen++;
        t.Pending = true;
        t.ExpiresNs = expiresNs;
        t.Cpu = cpu;
        b.Heap.Enqueue((t, t.Gen), (expiresNs, b.Seq++));
        b.ArmedCount++;
    }

    /// <summary>mod_timer: expire when jiffies reaches `expires` (wrap-safe 32-bit compare).</summary>
    public void ModTimer(KTimer t, uint expires)
    {
        // The tick that makes jiffies == expires happens (expires - jiffies) ticks after the last one.
        long delta = (int)(expires - Jiffies);
        long lastTick = (long)(Jiffies64 - Hz.InitialJiffies) * Hz.TickNsec;
        long due = delta <= 0 ? Now : lastTick + delta * Hz.TickNsec;
        HrTimerStart(t, due);
    }

    /// <summary>del_timer / hrtimer_cancel: true if the timer was pending.</summary>
    public bool DelTimer(KTimer t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!t.Pending)
        {
            return false;
        }
        t.Pending = false;
        t.Gen++;
        _timers[t.Cpu].ArmedCount--;
        return true;
    }

    private void RunTimerSoftirq(Cpu cpu)
    {
        var b = _timers[cpu.Id];
        while (b.Heap.TryPeek(out var entry, out var key) && key.Expires <= Now)
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
