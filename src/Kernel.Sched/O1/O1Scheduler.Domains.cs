// Linux 2.6.20 kernel/sched.c build_sched_domains for the emulated topology: every CPU gets its
// own sched_domain structures (they hold per-CPU balancing state), a CPU-level domain spanning
// the machine (SD_CPU_INIT) and, with two threads per core, a sibling domain below it
// (SD_SIBLING_INIT). A domain that would span one CPU is degenerate and left out.
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    private void BuildSchedDomains()
    {
        var all = CpuMask.FirstN(_online);
        int tpc = _options.ThreadsPerCore;
        for (int cpu = 0; cpu < _online; cpu++)
        {
            SchedDomain? top = null;
            if (_online > tpc)
            {
                // Groups: physical cores (one CPU each without SMT), listed from the local one.
                var groups = new List<SchedGroup>();
                int cores = _online / tpc;
                int myCore = cpu / tpc;
                for (int k = 0; k < cores; k++)
                {
                    int core = (myCore + k) % cores;
                    groups.Add(new SchedGroup(new CpuMask(((1UL << tpc) - 1) << (core * tpc)), SchedParams.SCHED_LOAD_SCALE));
                }
                var flags = SdFlags.SD_LOAD_BALANCE | SdFlags.SD_BALANCE_NEWIDLE | SdFlags.SD_BALANCE_EXEC | SdFlags.SD_WAKE_AFFINE;
                if (_options.WakeIdle)
                {
                    flags |= SdFlags.SD_WAKE_IDLE;
                }
                top = new SchedDomain
                {
                    Name = "CPU",
                    Span = all,
                    Groups = groups,
                    MinInterval = 1,
                    MaxInterval = 4,
                    BusyFactor = 64,
                    ImbalancePct = 125,
                    CacheHotTimeNs = _options.CacheHotTimeNs,
                    CacheNiceTries = 1,
                    BusyIdx = 2,
                    IdleIdx = 1,
                    NewidleIdx = 2,
                    WakeIdx = 1,
                    ForkexecIdx = 1,
                    Flags = flags,
                    LastBalance = _m.Jiffies,
                };
            }
            SchedDomain? sibling = null;
            if (tpc == 2)
            {
                int first = cpu & ~1;
                var groups = new List<SchedGroup>
                {
                    new(CpuMask.Of(cpu), SchedParams.SCHED_LOAD_SCALE),
                    new(CpuMask.Of(cpu ^ 1), SchedParams.SCHED_LOAD_SCALE),
                };
                sibling = new SchedDomain
                {
                    Name = "SIBLING",
                    Span = CpuMask.Of(first, first + 1),
                    Groups = groups,
                    MinInterval = 1,
                    MaxInterval = 2,
                    BusyFactor = 64,
                    ImbalancePct = 110,
                    CacheHotTimeNs = 0,
                    CacheNiceTries = 0,
                    BusyIdx = 0,
                    IdleIdx = 0,
                    NewidleIdx = 1,
                    WakeIdx = 0,
                    ForkexecIdx = 0,
                    Flags = SdFlags.SD_LOAD_BALANCE | SdFlags.SD_BALANCE_NEWIDLE | SdFlags.SD_BALANCE_EXEC
                        | SdFlags.SD_WAKE_AFFINE | SdFlags.SD_WAKE_IDLE | SdFlags.SD_SHARE_CPUPOWER,
                    LastBalance = _m.Jiffies,
                };
                if (top is not null)
                {
                    sibling.Parent = top;
                    top.Child = sibling;
                }
            }
            _rqs[cpu].Sd = sibling ?? top;
            _rqs[cpu].NextBalance = _m.Jiffies;
        }
    }

    /// <summary>The domains of a CPU, lowest level first (for_each_domain).</summary>
    public IEnumerable<SchedDomain> Domains(int cpu)
    {
        for (var sd = _rqs[cpu].Sd; sd is not null; sd = sd.Parent)
        {
            yield return sd;
        }
    }
}
