// Linux 2.6.20 kernel/sched.c: placing a new or exec'ing task (sched_balance_self with
// find_idlest_group and find_idlest_cpu, for SD_BALANCE_EXEC/FORK domains).
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    /// <summary>sched_balance_self: pick the idlest CPU in domains carrying `flag` (none in 2.6.20 SMP for fork).</summary>
    private int SchedBalanceSelf(int cpu, SdFlags flag, TaskStruct t)
    {
        SchedDomain? sd = null;
        for (var tmp = _rqs[cpu].Sd; tmp is not null; tmp = tmp.Parent)
        {
            if ((tmp.Flags & flag) != 0)
            {
                sd = tmp;
            }
        }
        while (sd is not null)
        {
            if ((sd.Flags & flag) == 0)
            {
                sd = sd.Child;
                continue;
            }
            var group = FindIdlestGroup(sd, t, cpu);
            if (group is null)
            {
                sd = sd.Child;
                continue;
            }
            int newCpu = FindIdlestCpu(group, t, cpu);
            if (newCpu == -1 || newCpu == cpu)
            {
                sd = sd.Child;
                continue;
            }
            cpu = newCpu;
            int weight = sd.Span.Weight;
            sd = null;
            for (var tmp = _rqs[cpu].Sd; tmp is not null; tmp = tmp.Parent)
            {
                if (weight <= tmp.Span.Weight)
                {
                    break;
                }
                if ((tmp.Flags & flag) != 0)
                {
                    sd = tmp;
                }
            }
        }
        return cpu;
    }

    private SchedGroup? FindIdlestGroup(SchedDomain sd, TaskStruct p, int thisCpu)
    {
        SchedGroup? idlest = null;
        long minLoad = long.MaxValue, thisLoad = 0;
        int loadIdx = sd.ForkexecIdx;
        int imbalance = 100 + (sd.ImbalancePct - 100) / 2;
        foreach (var group in sd.Groups)
        {
            if (!group.CpuMask.Intersects(p.CpusAllowed))
            {
                continue;
            }
            bool local = group.CpuMask.IsSet(thisCpu);
            long avgLoad = 0;
            foreach (int i in group.CpuMask.Cpus())
            {
                avgLoad += local ? SourceLoad(i, loadIdx) : TargetLoad(i, loadIdx);
            }
            avgLoad = avgLoad * SchedParams.SCHED_LOAD_SCALE / group.CpuPower;
            if (local)
            {
                thisLoad = avgLoad;
            }
            else if (avgLoad < minLoad)
            {
                minLoad = avgLoad;
                idlest = group;
            }
        }
        return idlest is null || 100 * thisLoad < imbalance * minLoad ? null : idlest;
    }

    private int FindIdlestCpu(SchedGroup group, TaskStruct p, int thisCpu)
    {
        long minLoad = long.MaxValue;
        int idlest = -1;
        foreach (int i in group.CpuMask.And(p.CpusAllowed).Cpus())
        {
            long load = _rqs[i].RawWeightedLoad;
            if (load < minLoad || (load == minLoad && i == thisCpu))
            {
                minLoad = load;
                idlest = i;
            }
        }
        return idlest;
    }
}
