// Linux 2.6.20 kernel/sched.c: how load_balance measures load. source_load/target_load (the
// biased decayed loads), find_busiest_group (the busiest group above the domain's average, the
// imbalance to move, the small-imbalance and power-savings paths) and find_busiest_queue.
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    private long SourceLoad(int cpu, int type)
    {
        var rq = _rqs[cpu];
        return type == 0 ? rq.RawWeightedLoad : Math.Min(rq.CpuLoad[type - 1], rq.RawWeightedLoad);
    }

    private long TargetLoad(int cpu, int type)
    {
        var rq = _rqs[cpu];
        return type == 0 ? rq.RawWeightedLoad : Math.Max(rq.CpuLoad[type - 1], rq.RawWeightedLoad);
    }

    private long CpuAvgLoadPerTask(int cpu)
    {
        var rq = _rqs[cpu];
        return rq.NrRunning != 0 ? rq.RawWeightedLoad / rq.NrRunning : SchedParams.SCHED_LOAD_SCALE;
    }

    // ------------------------------------------------------------------ periodic balancing

    private SchedGroup? FindBusiestGroup(SchedDomain sd, int thisCpu, out long imbalance, IdleType idle, CpuMask cpus, ref bool balance)
    {
        imbalance = 0;
        SchedGroup? busiest = null, thisGroup = null;
        long maxLoad = 0, thisLoad = 0, totalLoad = 0, totalPwr = 0;
        long busiestLoadPerTask = 0, busiestNrRunning = 0, thisLoadPerTask = 0, thisNrRunning = 0;
        int loadIdx = idle switch
        {
            IdleType.NOT_IDLE => sd.BusyIdx,
            IdleType.NEWLY_IDLE => sd.NewidleIdx,
            _ => sd.IdleIdx,
        };

        foreach (var group in sd.Groups)
        {
            bool localGroup = group.CpuMask.IsSet(thisCpu);
            int balanceCpu = localGroup ? group.CpuMask.First : -1;
            bool firstIdle = false;
            long avgLoad = 0, sumNrRunning = 0, sumWeightedLoad = 0;
            foreach (int i in group.CpuMask.Cpus())
            {
                if (!cpus.IsSet(i) || i >= _rqs.Length)
                {
                    continue;
                }
                var rq = _rqs[i];
                long load;
                if (localGroup)
                {
                    if (IdleCpu(i) && !firstIdle)
                    {
                        firstIdle = true;
                        balanceCpu = i;
                    }
                    // Bias balancing toward CPUs of our own group.
                    load = TargetLoad(i, loadIdx);
                }
                else
                {
                    load = SourceLoad(i, loadIdx);
                }
                avgLoad += load;
                sumNrRunning += rq.NrRunning;
                sumWeightedLoad += rq.RawWeightedLoad;
            }
            // Only one CPU of the local group (the first idle one, else the first) balances here.
            if (localGroup && balanceCpu != thisCpu && idle != IdleType.NEWLY_IDLE)
            {
                balance = false;
                return null;
            }
            totalLoad += avgLoad;
            totalPwr += group.CpuPower;
            avgLoad = avgLoad * SchedParams.SCHED_LOAD_SCALE / group.CpuPower;
            long groupCapacity = group.CpuPower / SchedParams.SCHED_LOAD_SCALE;
            if (localGroup)
            {
                thisLoad = avgLoad;
                thisGroup = group;
                thisNrRunning = sumNrRunning;
                thisLoadPerTask = sumWeightedLoad;
            }
            else if (avgLoad > maxLoad && sumNrRunning > groupCapacity)
            {
                maxLoad = avgLoad;
                busiest = group;
                busiestNrRunning = sumNrRunning;
                busiestLoadPerTask = sumWeightedLoad;
            }
        }

        if (busiest is null || thisGroup is null || thisLoad >= maxLoad || busiestNrRunning == 0)
        {
            return null;
        }
        long avg = SchedParams.SCHED_LOAD_SCALE * totalLoad / totalPwr;
        if (thisLoad >= avg || 100 * maxLoad <= sd.ImbalancePct * thisLoad)
        {
            return null;
        }
        busiestLoadPerTask /= busiestNrRunning;
        // A group with one heavy task is not imbalanced: moving it would only shift the problem.
        if (maxLoad <= busiestLoadPerTask)
        {
            return null;
        }
        bool small = maxLoad < avg;
        if (!small)
        {
            long maxPull = Math.Min(maxLoad - avg, maxLoad - busiestLoadPerTask);
            imbalance = Math.Min(maxPull * busiest.CpuPower, (avg - thisLoad) * thisGroup.CpuPower) / SchedParams.SCHED_LOAD_SCALE;
            small = imbalance < busiestLoadPerTask;
        }
        if (small)
        {
            long pwrMove = 0, pwrNow = 0;
            int imbn = 2;
            if (thisNrRunning != 0)
            {
                thisLoadPerTask /= thisNrRunning;
                if (busiestLoadPerTask > thisLoadPerTask)
                {
                    imbn = 1;
                }
            }
            else
            {
                thisLoadPerTask = SchedParams.SCHED_LOAD_SCALE;
            }
            if (maxLoad - thisLoad >= busiestLoadPerTask * imbn)
            {
                imbalance = busiestLoadPerTask;
                return busiest;
            }
            // Would moving one task gain throughput?
            pwrNow += busiest.CpuPower * Math.Min(busiestLoadPerTask, maxLoad);
            pwrNow += thisGroup.CpuPower * Math.Min(thisLoadPerTask, thisLoad);
            pwrNow /= SchedParams.SCHED_LOAD_SCALE;
            long tmp = busiestLoadPerTask * SchedParams.SCHED_LOAD_SCALE / busiest.CpuPower;
            if (maxLoad > tmp)
            {
                pwrMove += busiest.CpuPower * Math.Min(busiestLoadPerTask, maxLoad - tmp);
            }
            tmp = maxLoad * busiest.CpuPower < busiestLoadPerTask * SchedParams.SCHED_LOAD_SCALE
                ? maxLoad * busiest.CpuPower / thisGroup.CpuPower
                : busiestLoadPerTask * SchedParams.SCHED_LOAD_SCALE / thisGroup.CpuPower;
            pwrMove += thisGroup.CpuPower * Math.Min(thisLoadPerTask, thisLoad + tmp);
            pwrMove /= SchedParams.SCHED_LOAD_SCALE;
            if (pwrMove <= pwrNow)
            {
                imbalance = 0;
                return null;
            }
            imbalance = busiestLoadPerTask;
        }
        return busiest;
    }

    private RunQueue? FindBusiestQueue(SchedGroup group, long imbalance, CpuMask cpus)
    {
        RunQueue? busiest = null;
        long maxLoad = 0;
        foreach (int i in group.CpuMask.Cpus())
        {
            if (!cpus.IsSet(i) || i >= _rqs.Length)
            {
                continue;
            }
            var rq = _rqs[i];
            if (rq.NrRunning == 1 && rq.RawWeightedLoad > imbalance)
            {
                continue;
            }
            if (rq.RawWeightedLoad > maxLoad)
            {
                maxLoad = rq.RawWeightedLoad;
                busiest = rq;
            }
        }
        return busiest;
    }

    // ------------------------------------------------------------------ moving tasks
}
