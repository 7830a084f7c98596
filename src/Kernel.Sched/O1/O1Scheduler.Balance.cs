// Linux 2.6.20 kernel/sched.c: SMP load balancing. run_rebalance_domains (SCHED_SOFTIRQ) walks
// the domains; load_balance finds the busiest group and queue by weighted load (smpnice) and
// pulls tasks with move_tasks; a newly idle CPU balances from schedule() (idle_balance); after
// repeated failures the busiest CPU's migration thread pushes its running task (active balance).
// Measuring the imbalance is in O1Scheduler.FindBusiest.cs, moving tasks in O1Scheduler.MoveTasks.cs.
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    private const int MAX_PINNED_INTERVAL = 512;

    // ------------------------------------------------------------------ loads

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
}
