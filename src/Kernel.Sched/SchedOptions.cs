// Scheduler choices of one kernel instance.
namespace Kernel.Sched;

public enum SchedulerKind
{
    /// <summary>The 2.6 O(1) scheduler (kernel/sched.c, 2.6.20).</summary>
    O1,
    /// <summary>The 2.4 scheduler: one global runqueue, one lock, the goodness() loop.</summary>
    Goodness24,
}

public sealed record SchedOptions
{
    /// <summary>
    /// sched_domain cache_hot_time: 2.6.20 measures it at boot (calibrate_migration_costs);
    /// the emulator uses the 2.6.8-2.6.11 constant of 2.5 ms unless told otherwise.
    /// </summary>
    public long CacheHotTimeNs { get; init; } = 2_500_000;

    /// <summary>
    /// Give the top domain SD_WAKE_IDLE so wake-ups move to an idle CPU (2.6.20 sets it only for
    /// SMT siblings; on by default with ThreadsPerCore 2).
    /// </summary>
    public bool WakeIdle { get; init; }

    /// <summary>Hardware threads per core: 2 builds an SMT sibling domain under the CPU domain.</summary>
    public int ThreadsPerCore { get; init; } = 1;

    internal void Validate(int cpus)
    {
        if (ThreadsPerCore is not (1 or 2))
        {
            throw new ArgumentException("ThreadsPerCore must be 1 or 2.");
        }
        if (ThreadsPerCore == 2 && cpus % 2 != 0)
        {
            throw new ArgumentException("With ThreadsPerCore 2 the CPU count must be even.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(CacheHotTimeNs);
    }
}
