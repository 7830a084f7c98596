// Linux 2.6.20 kernel/timer.c schedule_timeout and kernel/sched.c io_schedule: sleep until woken
// or until a jiffies timer fires. The caller sets the task state first, as in Linux, so a wake-up
// that arrives before schedule() is not lost. io_schedule counts the sleeper in the CPU's
// nr_iowait, which is what makes idle time show as iowait in /proc/stat.
using System.Runtime.CompilerServices;
using Kernel.Core.Tasks;

namespace Kernel.Core.Time;

public static class ScheduleTimeoutOps
{
    /// <summary>MAX_SCHEDULE_TIMEOUT: sleep with no timer at all.</summary>
    public const long MAX_SCHEDULE_TIMEOUT = long.MaxValue;

    /// <summary>process_timeout: the timer function that wakes the task in the timer's Data (schedule_timeout, nanosleep).</summary>
    public static Action<KTimer> ProcessTimeout { get; } = t =>
    {
        var p = (TaskStruct)t.Data!;
        p.Machine.WakeUpProcess(p);
    };

    /// <summary>
    /// schedule_timeout: sleep in the state the caller set for at most `jiffies` ticks. Returns the
    /// jiffies left (0 when the timer fired).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<long> ScheduleTimeout(this Machine m, long jiffies)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentOutOfRangeException.ThrowIfNegative(jiffies);
        var p = m.RequireExecuting();
        if (jiffies == MAX_SCHEDULE_TIMEOUT)
        {
            await m.Schedule();
            return MAX_SCHEDULE_TIMEOUT;
        }
        uint expire = m.Jiffies + (uint)Math.Min(jiffies, int.MaxValue);
        var timer = new KTimer(ProcessTimeout, p);
        timer.Mod(m, expire);
        await m.Schedule();
        timer.Del(m);
        long left = (int)(expire - m.Jiffies);
        return left < 0 ? 0 : left;
    }

    /// <summary>io_schedule_timeout: schedule_timeout counted as waiting for I/O (nr_iowait).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<long> IoScheduleTimeout(this Machine m, long jiffies)
    {
        ArgumentNullException.ThrowIfNull(m);
        int cpu = m.ThisCpu.Id;
        m.IowaitInc(cpu);
        try
        {
            return await m.ScheduleTimeout(jiffies);
        }
        finally
        {
            m.IowaitDec(cpu);
        }
    }
}
