// Linux 2.6.20 kernel/sched.c: every tuning knob of the O(1) scheduler in one block, with its
// Linux name. The HZ-dependent ones are computed for the machine's HZ with C integer arithmetic,
// so sched.c's tables come out exactly; docs/sched.md carries them (timeslice per nice level at
// HZ 100/250/1000, TASK_INTERACTIVE's delta per nice level).
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed class SchedParams
{
    // ---- Priority space (include/linux/sched.h) ----
    public const int MAX_USER_RT_PRIO = 100;
    public const int MAX_RT_PRIO = MAX_USER_RT_PRIO;
    public const int MAX_PRIO = PrioArray.MAX_PRIO; // MAX_RT_PRIO + 40, defined once with the array it sizes
    public const int MAX_USER_PRIO = MAX_PRIO - MAX_RT_PRIO; // USER_PRIO(MAX_PRIO) = 40

    // ---- Interactivity knobs (HZ-independent) ----
    public const int ON_RUNQUEUE_WEIGHT = 30;
    public const int CHILD_PENALTY = 95;
    public const int PARENT_PENALTY = 100;
    public const int EXIT_WEIGHT = 3;
    public const int PRIO_BONUS_RATIO = 25;
    public const int MAX_BONUS = MAX_USER_PRIO * PRIO_BONUS_RATIO / 100; // 10
    public const int INTERACTIVE_DELTA = 2;

    // ---- smpnice (2.6.18+) ----
    public const long SCHED_LOAD_SCALE = 128;

    public SchedParams(Hz hz)
    {
        Hz = hz;
        int h = hz.Value;
        MIN_TIMESLICE = Math.Max(5 * h / 1000, 1);
        DEF_TIMESLICE = 100 * h / 1000;
        MAX_SLEEP_AVG = DEF_TIMESLICE * MAX_BONUS;
        STARVATION_LIMIT = MAX_SLEEP_AVG;
        NS_MAX_SLEEP_AVG = hz.JiffiesToNs(MAX_SLEEP_AVG);
        int g = 10 * h / 1000;
        GRANULARITY = g != 0 ? g : 1;
    }

    public Hz Hz { get; }

    /// <summary>max(5*HZ/1000, 1) jiffies.</summary>
    public int MIN_TIMESLICE { get; }
    /// <summary>100*HZ/1000 jiffies: the nice-0 timeslice.</summary>
    public int DEF_TIMESLICE { get; }
    /// <summary>DEF_TIMESLICE*MAX_BONUS jiffies (one second at any HZ).</summary>
    public int MAX_SLEEP_AVG { get; }
    public int STARVATION_LIMIT { get; }
    public long NS_MAX_SLEEP_AVG { get; }
    /// <summary>(10*HZ/1000 ?: 1): the TIMESLICE_GRANULARITY unit (2.6.11+).</summary>
    public int GRANULARITY { get; }

    public static int NICE_TO_PRIO(int nice) => MAX_RT_PRIO + nice + 20;

    public static int PRIO_TO_NICE(int prio) => prio - MAX_RT_PRIO - 20;

    public static int TASK_NICE(TaskStruct p) => PRIO_TO_NICE(p.StaticPrio);

    public static bool RtPrio(int prio) => prio < MAX_RT_PRIO;

    public static bool RtTask(TaskStruct p) => RtPrio(p.Prio);

    public static bool HasRtPolicy(TaskStruct p) => p.Policy is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR;

    public long NS_TO_JIFFIES(long ns) => Hz.NsToJiffies(ns);

    public long JIFFIES_TO_NS(long j) => Hz.JiffiesToNs(j);

    /// <summary>SCALE_PRIO(x, prio) = max(x*(MAX_PRIO-prio)/(MAX_USER_PRIO/2), MIN_TIMESLICE).</summary>
    private int ScalePrio(int x, int prio) => Math.Max(x * (MAX_PRIO - prio) / (MAX_USER_PRIO / 2), MIN_TIMESLICE);

    /// <summary>static_prio_timeslice: [800ms ... 100ms ... 5ms] in jiffies.</summary>
    public int StaticPrioTimeslice(int staticPrio) =>
        staticPrio < NICE_TO_PRIO(0) ? ScalePrio(DEF_TIMESLICE * 4, staticPrio) : ScalePrio(DEF_TIMESLICE, staticPrio);

    public int TaskTimeslice(TaskStruct p) => StaticPrioTimeslice(p.StaticPrio);

    /// <summary>CURRENT_BONUS(p): sleep_avg scaled to 0..MAX_BONUS.</summary>
    public int CurrentBonus(TaskStruct p) => (int)(NS_TO_JIFFIES(p.SleepAvg) * MAX_BONUS / MAX_SLEEP_AVG);

    /// <summary>DELTA(p), 2.6.17+ form.</summary>
    public static int Delta(TaskStruct p) => (TASK_NICE(p) + 20) * MAX_BONUS / 40 - 20 * MAX_BONUS / 40 + INTERACTIVE_DELTA;

    public static bool TaskInteractive(TaskStruct p) => p.Prio <= p.StaticPrio - Delta(p);

    /// <summary>INTERACTIVE_SLEEP(p) in ns.</summary>
    public long InteractiveSleep(TaskStruct p) => JIFFIES_TO_NS(MAX_SLEEP_AVG * (MAX_BONUS / 2 + Delta(p) + 1) / MAX_BONUS - 1);

    /// <summary>TIMESLICE_GRANULARITY(p) on SMP: scaled by the number of online CPUs.</summary>
    public int TimesliceGranularity(TaskStruct p, int onlineCpus)
    {
        int d = MAX_BONUS - CurrentBonus(p);
        if (d == 0)
        {
            d = 1;
        }
        return GRANULARITY * (1 << (d - 1)) * onlineCpus;
    }

    /// <summary>__normal_prio: static priority less the interactivity bonus (-5..+5), clamped.</summary>
    public int NormalPrioNonRt(TaskStruct p)
    {
        int bonus = CurrentBonus(p) - MAX_BONUS / 2;
        int prio = p.StaticPrio - bonus;
        return Math.Clamp(prio, MAX_RT_PRIO, MAX_PRIO - 1);
    }

    /// <summary>normal_prio: RT tasks map rt_priority 1..99 to prio 98..0.</summary>
    public int NormalPrio(TaskStruct p) => HasRtPolicy(p) ? MAX_RT_PRIO - 1 - p.RtPriority : NormalPrioNonRt(p);

    /// <summary>effective_prio: updates normal_prio; an RT-boosted prio is kept.</summary>
    public int EffectivePrio(TaskStruct p)
    {
        p.NormalPrio = NormalPrio(p);
        return RtPrio(p.Prio) ? p.Prio : p.NormalPrio;
    }

    /// <summary>LOAD_WEIGHT(lp) = lp*SCHED_LOAD_SCALE/TIME_SLICE_NICE_ZERO.</summary>
    public long LoadWeight(long timeslice) => timeslice * SCHED_LOAD_SCALE / DEF_TIMESLICE;

    public long PrioToLoadWeight(int prio) => LoadWeight(StaticPrioTimeslice(prio));

    public long RtPrioToLoadWeight(int rp) => PrioToLoadWeight(MAX_RT_PRIO) + LoadWeight(rp);
}
