// Linux 2.6.20 block/cfq-iosched.c, the elevator hooks for requests (set and put, insert,
// merge, completion, may_queue), preemption, the idle-slice and idle-class timers, exit, the
// invariants, and the tunables under /sys/block/DEV/queue/iosched/. "current" is the queue's Submitter (the task a backlogged bio
// came from while kblockd queues it).
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class CfqElevator
{
    private IReadOnlyList<ElvAttribute>? _attrs;

    /// <summary>cfq_should_preempt: whether `newq`'s request `rq` takes the disk from the active queue now.</summary>
    private bool ShouldPreempt(CfqQueue newq, Request rq)
    {
        var cfqq = ActiveQueue;
        if (newq.ClassIdle || cfqq is null)
        {
            return false;
        }
        if (cfqq.ClassIdle)
        {
            return true;
        }
        if (!newq.Has(CfqQueueFlags.WaitRequest) || newq.SliceLeft < SliceIdle)
        {
            return false;
        }
        if (IsSync(rq) == SYNC && !cfqq.Sync)
        {
            return true;
        }
        return IsMeta(rq) && cfqq.MetaPending == 0;
    }

    /// <summary>cfq_preempt_queue: end the active slice and put `cfqq` first on cur_rr (with half a slice if it had none left).</summary>
    private void PreemptQueue(CfqQueue cfqq)
    {
        Preemptions++;
        SliceExpired(preempted: true);
        if (cfqq.SliceLeft == 0)
        {
            cfqq.SliceLeft = (uint)(PrioToSlice(cfqq) / 2);
        }
        if (!cfqq.Has(CfqQueueFlags.OnRr))
        {
            throw new KernelBug($"cfq_preempt_queue: {cfqq} is not on the rr lists");
        }
        cfqq.RrNode.List?.Remove(cfqq.RrNode);
        _curRr.AddFirst(cfqq.RrNode);
        cfqq.SliceEnd = cfqq.SliceLeft + Jiffies;
    }

    /// <summary>cfq_rq_enqueued: update next_rq and the process's history; end an idle wait the request was awaited for, or preempt.</summary>
    private void RqEnqueued(CfqQueue cfqq, Request rq)
    {
        var cic = RqCic(rq);
        if (IsMeta(rq))
        {
            cfqq.MetaPending++;
        }
        cfqq.NextRq = ChooseReq(cfqq.NextRq, rq);
        if (IsSync(rq) == ASYNC)
        {
            // A sync process that issued an async request while waited for: stop waiting.
            if (cic == ActiveCic && _idleSliceTimer.Del(M))
            {
                SliceExpired(preempted: false);
                Q.StartQueueing();
            }
            return;
        }
        UpdateIoThinktime(cic);
        UpdateIoSeektime(cic, rq);
        UpdateIdleWindow(cfqq, cic);
        cic.LastQueue = Jiffies;
        cic.LastRequestPos = rq.Sector + rq.NrSectors;
        if (cfqq == ActiveQueue)
        {
            if (cfqq.Has(CfqQueueFlags.WaitRequest))
            {
                cfqq.Mark(CfqQueueFlags.MustDispatch);
                _idleSliceTimer.Del(M);
                Q.StartQueueing();
            }
        }
        else if (ShouldPreempt(cfqq, rq))
        {
            PreemptQueue(cfqq);
            cfqq.Mark(CfqQueueFlags.MustDispatch);
            Q.StartQueueing();
        }
    }

    /// <summary>cfq_insert_request.</summary>
    public override void AddRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        var cfqq = RqCfqq(rq) ?? throw new KernelBug($"cfq_insert_request: {rq} has no cfq_queue");
        InitPrioData(cfqq);
        AddRqRb(rq);
        cfqq.Fifo.AddLast(rq.QueueNode);
        RqEnqueued(cfqq, rq);
    }

    public override void ActivateRequest(Request rq)
    {
        RqInDriver++;
        // More than four at once: the drive queues itself, so idling matters less.
        if (!HwTag && RqInDriver > 4)
        {
            HwTag = true;
        }
    }

    public override void DeactivateRequest(Request rq)
    {
        if (RqInDriver == 0)
        {
            throw new KernelBug("cfq_deactivate_request: no request in the driver");
        }
        RqInDriver--;
    }

    /// <summary>cfq_completed_request: account the completion; end the active slice if its time is up, or idle for its next request.</summary>
    public override void CompletedRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        var cfqq = RqCfqq(rq)!;
        int sync = IsSync(rq);
        uint now = Jiffies;
        if (RqInDriver == 0 || cfqq.OnDispatch[sync] == 0)
        {
            throw new KernelBug($"cfq_completed_request: {rq} was not dispatched from {cfqq}");
        }
        RqInDriver--;
        cfqq.OnDispatch[sync]--;
        if (!cfqq.ClassIdle)
        {
            LastEndRequest = now;
        }
        if (cfqq.Dispatched == 0 && cfqq.Has(CfqQueueFlags.OnRr))
        {
            ResortRrList(cfqq, preempted: false);
        }
        if (sync == SYNC)
        {
            RqCic(rq).LastEndRequest = now;
        }
        if (ActiveQueue == cfqq)
        {
            if (Hz.TimeAfter(now, cfqq.SliceEnd))
            {
                SliceExpired(preempted: false);
            }
            else if (sync == SYNC && cfqq.SortList.IsEmpty && !ArmSliceTimer(cfqq))
            {
                ScheduleDispatch();
            }
        }
    }

    /// <summary>cfq_merge: a front merge within the submitting process's own queue.</summary>
    public override ElvMergeType Merge(Bio bio, out Request? rq)
    {
        ArgumentNullException.ThrowIfNull(bio);
        rq = null;
        var cfqq = SubmitterQueue(bio.IsWrite ? 1 : 0, (bio.Rw & BioRw.BIO_RW_SYNC) != 0);
        return cfqq is null ? ElvMergeType.NoMerge : FrontMergeIn(cfqq.SortList, bio, out rq);
    }

    public override void Merged(Request rq, ElvMergeType type)
    {
        if (type == ElvMergeType.FrontMerge)
        {
            RepositionRqRb(RqCfqq(rq)!, rq);
        }
    }

    /// <summary>cfq_merged_requests: `next` joined `rq`. (attempt_merge has already given rq the older start time, so the FIFO move never happens, as in 2.6.20.)</summary>
    public override void MergeRequests(Request rq, Request nextRq)
    {
        if (rq.QueueNode.List is { } l && nextRq.QueueNode.List == l && Hz.TimeBefore(nextRq.StartJiffies, rq.StartJiffies))
        {
            l.Remove(rq.QueueNode);
            l.AddAfter(nextRq.QueueNode, rq.QueueNode);
        }
        RemoveRequest(nextRq);
    }

    /// <summary>cfq_allow_merge: no sync bio into an async request, and only into a request of the queue the bio would go to.</summary>
    public override bool AllowMerge(Request rq, Bio bio)
    {
        bool bioSync = (bio.Rw & BioRw.BIO_RW_SYNC) != 0;
        int rw = bio.IsWrite ? 1 : 0;
        if ((rw == 0 || bioSync) && IsSync(rq) == ASYNC)
        {
            return false;
        }
        return RqCfqq(rq) is { } own && SubmitterQueue(rw, bioSync) == own;
    }

    public override Request? FormerRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Prev(rq);

    public override Request? LatterRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Next(rq);

    /// <summary>cfq_may_queue: a queue that is being waited for must get its request; others may.</summary>
    public override ElvMayQueue MayQueue(int rw, bool sync)
    {
        if (SubmitterQueue(rw, sync) is not { } cfqq)
        {
            return ElvMayQueue.May;
        }
        InitPrioData(cfqq);
        PrioBoost(cfqq);
        if ((cfqq.Has(CfqQueueFlags.WaitRequest) || cfqq.Has(CfqQueueFlags.MustAlloc)) && !cfqq.Has(CfqQueueFlags.MustAllocSlice))
        {
            cfqq.Mark(CfqQueueFlags.MustAllocSlice);
            return ElvMayQueue.Must;
        }
        return ElvMayQueue.May;
    }

    /// <summary>cfq_set_request: attach the submitting task's cic and queue to a new request.</summary>
    public override int SetRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        var tsk = Q.Submitter;
        int rw = rq.DataDir;
        int isSync = IsSync(rq);
        var cic = GetIoContext(tsk);
        var cfqq = cic.Cfqq[isSync] ??= GetQueue(QueuePid(tsk, rw, isSync == SYNC), tsk);
        cfqq.Allocated[rw]++;
        cfqq.Clear(CfqQueueFlags.MustAlloc);
        cfqq.Ref++;
        rq.ElevatorPrivate = cic;
        rq.ElevatorPrivate2 = cfqq;
        return 0;
    }

    /// <summary>cfq_put_request.</summary>
    public override void PutRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (RqCfqq(rq) is not { } cfqq)
        {
            return;
        }
        int rw = rq.DataDir;
        if (cfqq.Allocated[rw] == 0)
        {
            throw new KernelBug($"cfq_put_request: {cfqq} has no {(rw == 1 ? "write" : "read")} allocated");
        }
        cfqq.Allocated[rw]--;
        rq.ElevatorPrivate = null;
        rq.ElevatorPrivate2 = null;
        PutQueue(cfqq);
    }

    /// <summary>cfq_idle_slice_timer: the awaited request did not come: end the slice (unless nobody else waits), or dispatch what did come.</summary>
    private void IdleSliceTimer()
    {
        M.ChargeLock(Q.QueueLock, M.ThisCpu, Q.Block.Costs.UnplugNs);
        IdleTimeouts++;
        if (ActiveQueue is { } cfqq)
        {
            if (!Hz.TimeAfter(Jiffies, cfqq.SliceEnd))
            {
                if (BusyQueues == 0)
                {
                    return;
                }
                if (!cfqq.SortList.IsEmpty)
                {
                    cfqq.Mark(CfqQueueFlags.MustDispatch);
                    ScheduleDispatch();
                    return;
                }
            }
        }
        SliceExpired(preempted: false);
        ScheduleDispatch();
    }

    /// <summary>cfq_idle_class_timer: the grace period for idle-class I/O is over (or wait again if something completed since).</summary>
    private void IdleClassTimer()
    {
        M.ChargeLock(Q.QueueLock, M.ThisCpu, Q.Block.Costs.UnplugNs);
        uint end = LastEndRequest + _idleGrace;
        if (!Hz.TimeAfterEq(Jiffies, end))
        {
            _idleClassTimer.Mod(M, end);
        }
        else
        {
            ScheduleDispatch();
        }
    }

    /// <summary>cfq_exit_queue: the queue switched away; every process's references go.</summary>
    public override void ExitQueue()
    {
        _idleSliceTimer.Del(M);
        _idleClassTimer.Del(M);
        if (ActiveQueue is { } active)
        {
            SliceExpired(active, preempted: false);
        }
        while (_cicList.Count > 0)
        {
            ExitSingleIoContext(_cicList[0]);
        }
        if (!QueueEmpty)
        {
            throw new KernelBug($"cfq: exit with {Queued} requests queued");
        }
    }

    internal override void CheckInvariants(List<string> problems)
    {
        int onRr = 0;
        foreach (var cfqq in CfqQueues)
        {
            if (cfqq.Has(CfqQueueFlags.OnRr))
            {
                onRr++;
                if (cfqq.SortList.IsEmpty)
                {
                    problems.Add($"cfq: {cfqq} is busy with an empty sort tree");
                }
            }
            else if (!cfqq.SortList.IsEmpty)
            {
                problems.Add($"cfq: {cfqq} holds {cfqq.SortList.Count} requests but is not busy");
            }
            if (cfqq.SortList.Count != cfqq.Fifo.Count || cfqq.Queued[0] + cfqq.Queued[1] != cfqq.Fifo.Count)
            {
                problems.Add($"cfq: {cfqq} tree {cfqq.SortList.Count}, fifo {cfqq.Fifo.Count}, queued {cfqq.Queued[0]}+{cfqq.Queued[1]}");
            }
            if (cfqq.Ref < cfqq.Allocated[0] + cfqq.Allocated[1])
            {
                problems.Add($"cfq: {cfqq} has {cfqq.Ref} references for {cfqq.Allocated[0] + cfqq.Allocated[1]} requests");
            }
            if (cfqq.NextRq is null != cfqq.SortList.IsEmpty)
            {
                problems.Add($"cfq: {cfqq} next_rq {cfqq.NextRq?.ToString() ?? "none"} with {cfqq.SortList.Count} queued");
            }
        }
        if (onRr != BusyQueues)
        {
            problems.Add($"cfq: busy_queues {BusyQueues} but {onRr} queues are on the rr lists");
        }
    }

    /// <summary>The tunables, in cfq_attrs order; times in milliseconds as Linux shows them.</summary>
    public override IReadOnlyList<ElvAttribute> Attributes => _attrs ??=
    [
        ElvAttribute.Number("quantum", () => Quantum, v => Quantum = (uint)v, 1, uint.MaxValue),
        Ms("fifo_expire_sync", () => FifoExpire[SYNC], v => FifoExpire[SYNC] = v, 1),
        Ms("fifo_expire_async", () => FifoExpire[ASYNC], v => FifoExpire[ASYNC] = v, 1),
        ElvAttribute.Number("back_seek_max", () => BackMax, v => BackMax = (uint)v, 0, uint.MaxValue),
        ElvAttribute.Number("back_seek_penalty", () => BackPenalty, v => BackPenalty = (uint)v, 1, uint.MaxValue),
        Ms("slice_sync", () => Slice[SYNC], v => Slice[SYNC] = v, 1),
        Ms("slice_async", () => Slice[ASYNC], v => Slice[ASYNC] = v, 1),
        ElvAttribute.Number("slice_async_rq", () => SliceAsyncRq, v => SliceAsyncRq = (uint)v, 1, uint.MaxValue),
        Ms("slice_idle", () => SliceIdle, v => SliceIdle = v, 0),
    ];

    private ElvAttribute Ms(string name, Func<uint> get, Action<uint> set, long min) =>
        ElvAttribute.Number(name, () => M.Hz.JiffiesToMsecs(get()), v => set(M.Hz.MsecsToJiffies((uint)v)), min, int.MaxValue);
}
