// Linux 2.6.20 kernel/sched.c: SMP load balancing. run_rebalance_domains (SCHED_SOFTIRQ) walks
// the domains; load_balance finds the busiest group and queue by weighted load (smpnice) and
// pulls tasks with move_tasks; a newly idle CPU balances from schedule() (idle_balance); after
// repeated failures the busiest CPU's migration thread pushes its running task (active balance).
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    private const int MAX_PINNED_INTERVAL = 512;

    // ------------------------------------------------------------------ loads

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

    private void RunRebalanceDomains(Cpu cpu)
    {
        int thisCpu = cpu.Id;
        var rq = _rqs[thisCpu];
        var idle = rq.NrRunning == 0 ? IdleType.SCHED_IDLE : IdleType.NOT_IDLE;
        uint jiffies = _m.Jiffies;
        uint nextBalance = unchecked(jiffies + (uint)(60 * _m.Hz.Value));
        bool balance = true;
        for (var sd = rq.Sd; sd is not null; sd = sd.Parent)
        {
            if ((sd.Flags & SdFlags.SD_LOAD_BALANCE) == 0)
            {
                continue;
            }
            uint interval = (uint)sd.BalanceInterval;
            if (idle != IdleType.SCHED_IDLE)
            {
                interval *= (uint)sd.BusyFactor;
            }
            interval = _m.Hz.MsecsToJiffies(interval);
            if (interval == 0)
            {
                interval = 1;
            }
            if (Hz.TimeAfterEq(jiffies, unchecked(sd.LastBalance + interval)))
            {
                if (LoadBalance(thisCpu, rq, sd, idle, ref balance) != 0)
                {
                    // We pulled work: we are no longer idle for the upper levels.
                    idle = IdleType.NOT_IDLE;
                }
                sd.LastBalance = jiffies;
            }
            if (Hz.TimeAfter(nextBalance, unchecked(sd.LastBalance + interval)))
            {
                nextBalance = unchecked(sd.LastBalance + interval);
            }
            if (!balance)
            {
                break;
            }
        }
        rq.NextBalance = nextBalance;
    }

    private int LoadBalance(int thisCpu, RunQueue thisRq, SchedDomain sd, IdleType idle, ref bool balance)
    {
        int nrMoved = 0;
        bool allPinned = false;
        bool activeBalance = false;
        var cpus = CpuMask.All;
        sd.LbCnt[(int)idle]++;
        while (true)
        {
            var group = FindBusiestGroup(sd, thisCpu, out long imbalance, idle, cpus, ref balance);
            if (!balance)
            {
                goto out_balanced;
            }
            if (group is null)
            {
                sd.LbNobusyg[(int)idle]++;
                goto out_balanced;
            }
            var busiest = FindBusiestQueue(group, imbalance, cpus);
            if (busiest is null)
            {
                sd.LbNobusyq[(int)idle]++;
                goto out_balanced;
            }
            if (busiest == thisRq)
            {
                throw new KernelBug($"load_balance: busiest queue is this queue (cpu{thisCpu})");
            }
            sd.LbImbalance[(int)idle] += imbalance;
            nrMoved = 0;
            if (busiest.NrRunning > 1)
            {
                LockRq(thisRq, _m.Cpus[thisCpu]);
                LockRq(busiest, _m.Cpus[thisCpu]);
                nrMoved = MoveTasks(thisRq, thisCpu, busiest, Math.Max(busiest.NrRunning - 1, 0), imbalance, sd, idle, out allPinned);
                if (allPinned)
                {
                    cpus = cpus.Without(busiest.Cpu);
                    if (!cpus.IsEmpty)
                    {
                        continue;
                    }
                    goto out_balanced;
                }
            }
            if (nrMoved == 0)
            {
                sd.LbFailed[(int)idle]++;
                sd.NrBalanceFailed++;
                if (sd.NrBalanceFailed > sd.CacheNiceTries + 2)
                {
                    // Passive balancing keeps failing: ask the busiest CPU to push its running task.
                    if (!RqCurr(busiest).CpusAllowed.IsSet(thisCpu))
                    {
                        allPinned = true;
                        goto out_one_pinned;
                    }
                    if (!busiest.ActiveBalance)
                    {
                        busiest.ActiveBalance = true;
                        busiest.PushCpu = thisCpu;
                        activeBalance = true;
                    }
                    if (activeBalance && busiest.MigrationThread is not null)
                    {
                        _m.WakeUpProcess(busiest.MigrationThread);
                    }
                    sd.NrBalanceFailed = sd.CacheNiceTries + 1;
                }
            }
            else
            {
                sd.NrBalanceFailed = 0;
            }
            if (!activeBalance)
            {
                sd.BalanceInterval = sd.MinInterval;
            }
            else if (sd.BalanceInterval < sd.MaxInterval)
            {
                sd.BalanceInterval *= 2;
            }
            return nrMoved;
        }
    out_balanced:
        sd.LbBalanced[(int)idle]++;
        sd.NrBalanceFailed = 0;
    out_one_pinned:
        if ((allPinned && sd.BalanceInterval < MAX_PINNED_INTERVAL) || sd.BalanceInterval < sd.MaxInterval)
        {
            sd.BalanceInterval *= 2;
        }
        return 0;
    }

    /// <summary>idle_balance: a CPU about to go idle tries to pull from its domains.</summary>
    private void IdleBalance(Cpu cpu, RunQueue thisRq)
    {
        int thisCpu = cpu.Id;
        uint nextBalance = unchecked(_m.Jiffies + (uint)(60 * _m.Hz.Value));
        bool pulled = false;
        for (var sd = thisRq.Sd; sd is not null; sd = sd.Parent)
        {
            if ((sd.Flags & SdFlags.SD_BALANCE_NEWIDLE) == 0)
            {
                continue;
            }
            pulled = LoadBalanceNewidle(thisCpu, thisRq, sd) > 0;
            uint due = unchecked(sd.LastBalance + (uint)sd.BalanceInterval);
            if (Hz.TimeAfter(nextBalance, due))
            {
                nextBalance = due;
            }
            if (pulled)
            {
                break;
            }
        }
        if (!pulled)
        {
            thisRq.NextBalance = nextBalance;
        }
    }

    private int LoadBalanceNewidle(int thisCpu, RunQueue thisRq, SchedDomain sd)
    {
        const IdleType idle = IdleType.NEWLY_IDLE;
        var cpus = CpuMask.All;
        bool balance = true;
        sd.LbCnt[(int)idle]++;
        while (true)
        {
            var group = FindBusiestGroup(sd, thisCpu, out long imbalance, idle, cpus, ref balance);
            if (group is null)
            {
                sd.LbNobusyg[(int)idle]++;
                break;
            }
            var busiest = FindBusiestQueue(group, imbalance, cpus);
            if (busiest is null)
            {
                sd.LbNobusyq[(int)idle]++;
                break;
            }
            sd.LbImbalance[(int)idle] += imbalance;
            int nrMoved = 0;
            if (busiest.NrRunning > 1)
            {
                LockRq(busiest, _m.Cpus[thisCpu]);
                nrMoved = MoveTasks(thisRq, thisCpu, busiest, Math.Max(busiest.NrRunning - 1, 0), imbalance, sd, idle, out _);
                if (nrMoved == 0)
                {
                    cpus = cpus.Without(busiest.Cpu);
                    if (!cpus.IsEmpty)
                    {
                        continue;
                    }
                }
            }
            if (nrMoved == 0)
            {
                sd.LbFailed[(int)idle]++;
            }
            else
            {
                sd.NrBalanceFailed = 0;
            }
            return nrMoved;
        }
        sd.LbBalanced[(int)idle]++;
        sd.NrBalanceFailed = 0;
        return 0;
    }

    // ------------------------------------------------------------------ finding the imbalance

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

    private bool TaskHot(TaskStruct p, long now, SchedDomain sd) => now - p.LastRan < sd.CacheHotTimeNs;

    private bool CanMigrateTask(TaskStruct p, RunQueue rq, int thisCpu, SchedDomain sd, IdleType idle, ref bool pinned)
    {
        if (!p.CpusAllowed.IsSet(thisCpu))
        {
            return false;
        }
        pinned = false;
        if (TaskRunning(rq, p))
        {
            return false;
        }
        // Aggressive migration once balancing has failed often enough.
        if (sd.NrBalanceFailed > sd.CacheNiceTries)
        {
            if (TaskHot(p, rq.MostRecentTimestamp, sd))
            {
                sd.LbHotGained[(int)idle]++;
            }
            return true;
        }
        return !TaskHot(p, rq.MostRecentTimestamp, sd);
    }

    private int RqBestPrio(RunQueue rq) => Math.Min(RqCurr(rq).Prio, rq.BestExpiredPrio);

    /// <summary>move_tasks: pull up to maxNrMove tasks / maxLoadMove weighted load from busiest.</summary>
    private int MoveTasks(RunQueue thisRq, int thisCpu, RunQueue busiest, long maxNrMove, long maxLoadMove, SchedDomain sd, IdleType idle, out bool allPinned)
    {
        int pulled = 0;
        bool pinned = true;
        allPinned = false;
        if (maxNrMove == 0 || maxLoadMove == 0)
        {
            sd.LbGained[(int)idle] += pulled;
            return 0;
        }
        long remLoadMove = maxLoadMove;
        int thisBestPrio = RqBestPrio(thisRq);
        int bestPrio = RqBestPrio(busiest);
        bool bestPrioSeen = bestPrio == RqCurr(busiest).Prio;

        // Expired tasks first: they are cache-cold and would not run soon where they are.
        PrioArray array, dstArray;
        if (busiest.Expired.NrActive != 0)
        {
            array = busiest.Expired;
            dstArray = thisRq.Expired;
        }
        else
        {
            array = busiest.Active;
            dstArray = thisRq.Active;
        }
        while (true)
        {
            for (int idx = 0; idx < PrioArray.MAX_PRIO; idx++)
            {
                if (!array.TestBit(idx))
                {
                    continue;
                }
                // Walk each queue from its tail: the most recently queued, least cache-hot task first.
                var tmp = array.Last(idx);
                while (tmp is not null)
                {
                    var prev = PrioArray.Prev(tmp);
                    bool skipForLoad = tmp.LoadWeight > remLoadMove;
                    if (skipForLoad && idx < thisBestPrio)
                    {
                        skipForLoad = !bestPrioSeen && idx == bestPrio;
                    }
                    if (skipForLoad || !CanMigrateTask(tmp, busiest, thisCpu, sd, idle, ref pinned))
                    {
                        bestPrioSeen |= idx == bestPrio;
                        tmp = prev;
                        continue;
                    }
                    PullTask(busiest, array, tmp, thisRq, dstArray, thisCpu);
                    pulled++;
                    remLoadMove -= tmp.LoadWeight;
                    if (pulled >= maxNrMove || remLoadMove <= 0)
                    {
                        goto done;
                    }
                    if (idx < thisBestPrio)
                    {
                        thisBestPrio = idx;
                    }
                    tmp = prev;
                }
            }
            if (array == busiest.Expired && busiest.Active.NrActive != 0)
            {
                array = busiest.Active;
                dstArray = thisRq.Active;
                continue;
            }
            break;
        }
    done:
        sd.LbGained[(int)idle] += pulled;
        allPinned = pinned;
        return pulled;
    }

    private void PullTask(RunQueue srcRq, PrioArray srcArray, TaskStruct p, RunQueue thisRq, PrioArray thisArray, int thisCpu)
    {
        srcArray.Dequeue(p);
        DecNrRunning(p, srcRq);
        SetTaskCpu(p, thisCpu);
        IncNrRunning(p, thisRq);
        EnqueueTask(p, thisArray);
        _m.Charge(_m.Costs.MigrationNs);
        // The idle task has prio MAX_PRIO, so a pull onto an idle CPU always reschedules it.
        if (TaskPreemptsCurr(p, thisRq))
        {
            ReschedTask(RqCurr(thisRq));
        }
    }

    /// <summary>active_load_balance: run by busiest's migration thread to push one task to push_cpu.</summary>
    private void ActiveLoadBalance(RunQueue busiestRq, int busiestCpu)
    {
        int targetCpu = busiestRq.PushCpu;
        if (busiestRq.NrRunning <= 1)
        {
            return;
        }
        var targetRq = _rqs[targetCpu];
        LockRq(targetRq, _m.ThisCpu);
        SchedDomain? sd = null;
        for (var d = targetRq.Sd; d is not null; d = d.Parent)
        {
            if ((d.Flags & SdFlags.SD_LOAD_BALANCE) != 0 && d.Span.IsSet(busiestCpu))
            {
                sd = d;
                break;
            }
        }
        if (sd is null)
        {
            return;
        }
        sd.AlbCnt++;
        if (MoveTasks(targetRq, targetCpu, busiestRq, 1, _p.RtPrioToLoadWeight(100), sd, IdleType.SCHED_IDLE, out _) > 0)
        {
            sd.AlbPushed++;
        }
        else
        {
            sd.AlbFailed++;
        }
    }

    // ------------------------------------------------------------------ fork placement

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
