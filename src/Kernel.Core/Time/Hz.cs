// Linux 2.6.20: include/linux/jiffies.h, kernel/time.c. The tick rate of one kernel instance and
// the jiffies arithmetic that goes with it. jiffies is an i386 `unsigned long` (32 bits) that
// starts at INITIAL_JIFFIES so it wraps five minutes after boot, exactly as on Linux; every
// comparison goes through the wrap-safe TimeAfter/TimeBefore.
namespace Kernel.Core.Time;

public sealed class Hz
{
    public const long NSEC_PER_SEC = 1_000_000_000;
    public const long NSEC_PER_MSEC = 1_000_000;
    public const long NSEC_PER_USEC = 1_000;

    /// <summary>USER_HZ: the unit of clock_t in /proc (times, /proc/PID/stat).</summary>
    public const int USER_HZ = 100;

    public Hz(int hz)
    {
        if (hz is not (100 or 250 or 300 or 1000))
        {
            throw new ArgumentOutOfRangeException(nameof(hz), hz, "HZ must be 100, 250, 300 or 1000 (kernel/Kconfig.hz).");
        }
        Value = hz;
        TickNsec = NSEC_PER_SEC / hz;
        InitialJiffies = unchecked((uint)(-300 * hz));
    }

    /// <summary>HZ.</summary>
    public int Value { get; }

    /// <summary>TICK_NSEC: nanoseconds between timer interrupts (rounded down for HZ=300).</summary>
    public long TickNsec { get; }

    /// <summary>INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300*HZ).</summary>
    public uint InitialJiffies { get; }

    public long JiffiesToNs(long j) => j * (NSEC_PER_SEC / Value);

    public long NsToJiffies(long ns) => ns / (NSEC_PER_SEC / Value);

    /// <summary>msecs_to_jiffies: rounds up, as 2.6.20 does.</summary>
    public uint MsecsToJiffies(uint m)
    {
        if (Value <= 1000 && 1000 % Value == 0)
        {
            uint per = (uint)(1000 / Value);
            return (m + per - 1) / per;
        }
        return (uint)(((ulong)m * (ulong)Value + 999) / 1000);
    }

    /// <summary>jiffies_to_msecs (2.6.20: exact for a HZ dividing 1000).</summary>
    public uint JiffiesToMsecs(uint j) =>
        Value <= 1000 && 1000 % Value == 0 ? j * (uint)(1000 / Value) : (uint)((ulong)j * 1000 / (ulong)Value);

    /// <summary>jiffies_to_clock_t: jiffies in USER_HZ units.</summary>
    public long JiffiesToClockT(long j) => Value % USER_HZ == 0 ? j / (Value / USER_HZ) : j * USER_HZ / Value;

    /// <summary>time_after(a, b): a is later than b, wrap-safe on 32 bits.</summary>
    public static bool TimeAfter(uint a, uint b) => (int)(b - a) < 0;

    public static bool TimeBefore(uint a, uint b) => TimeAfter(b, a);

    public static bool TimeAfterEq(uint a, uint b) => (int)(a - b) >= 0;
}
