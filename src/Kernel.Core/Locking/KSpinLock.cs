// spinlock_t with simulated hold and spin times. Two ways to use one lock, never both on the same
// lock:
//  - from an async kernel path: `await l.Lock(m)` ... `await l.Unlock(m)`. A CPU that finds
//    the lock held spins on the simulated clock until the holder releases it (FIFO hand-over).
//  - from synchronous kernel code (schedule, try_to_wake_up): Charge(cpu, now, hold) reserves the lock
//    for `hold` ns starting when it is next free and returns how long the caller spun. That is how
//    a global runqueue lock serialises every CPU's schedule() while per-CPU locks do not.
// Either way the lock counts acquisitions, contentions, spin and hold time, so global-vs-per-CPU
// locking is a measurement, not an opinion.
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed partial class KSpinLock
{
    internal readonly Queue<Cpu> Waiters = new();

    public KSpinLock(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public Cpu? OwnerCpu { get; internal set; }

    public TaskStruct? OwnerTask { get; internal set; }

    internal long AcquiredAt;

    /// <summary>Charged mode: the lock is busy until this time.</summary>
    internal long BusyUntil;

    /// <summary>Charged mode: the CPU whose hold BusyUntil ends.</summary>
    private Cpu? _lastCharger;

    public bool IsLocked => OwnerCpu is not null;

    public long Acquisitions { get; private set; }
    public long Contentions { get; private set; }
    public long SpinNs { get; private set; }
    public long MaxSpinNs { get; private set; }
    public long HoldNs { get; private set; }
    public long MaxHoldNs { get; private set; }

    /// <summary>
    /// Charged acquisition at `now` holding for `holdNs`: returns the time spent spinning before the
    /// lock became free. The caller's CPU is busy for spin + hold.
    /// </summary>
    public long Charge(Cpu cpu, long now, long holdNs)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        // A CPU never spins on its own earlier hold: it released the lock before taking it again.
        // `now` is the CPU's own clock (Machine.ChargeLock adds what the current context owes), but
        // a hold charged to a task that switched out before paying for it is not on that clock.
        long start = cpu == _lastCharger ? now : Math.Max(now, BusyUntil);
        long spin = start - now;
        BusyUntil = Math.Max(BusyUntil, start + holdNs);
        _lastCharger = cpu;
        Acquisitions++;
        HoldNs += holdNs;
        if (holdNs > MaxHoldNs)
        {
            MaxHoldNs = holdNs;
        }
        if (spin > 0)
        {
            Contentions++;
            SpinNs += spin;
            if (spin > MaxSpinNs)
            {
                MaxSpinNs = spin;
            }
        }
        return spin;
    }

    internal void Take(Cpu cpu, TaskStruct task, long now, long spun)
    {
        OwnerCpu = cpu;
        OwnerTask = task;
        AcquiredAt = now;
        Acquisitions++;
        if (spun > 0)
        {
            Contentions++;
            SpinNs += spun;
            if (spun > MaxSpinNs)
            {
                MaxSpinNs = spun;
            }
        }
    }

    internal void Release(long now)
    {
        long held = now - AcquiredAt;
        HoldNs += held;
        if (held > MaxHoldNs)
        {
            MaxHoldNs = held;
        }
        OwnerCpu = null;
        OwnerTask = null;
    }

    public override string ToString() => Name;
}
