// Linux 2.6.20 kernel/sched.c: how load_balance moves load. can_migrate_task (affinity, running,
// cache-hot unless balancing keeps failing), move_tasks (expired array first, highest index first,
// from the tail, within the load and count caps), pull_task, and active_load_balance, which the
// busiest CPU's migration thread runs to push its running task.
using Kernel.Core;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
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
}
