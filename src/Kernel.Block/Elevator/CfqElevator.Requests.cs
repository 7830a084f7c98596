// Linux 2.6.20 block/cfq-iosched.c, second half: the elevator hooks for requests (set and put,
// insert, merge, completion, may_queue), the cfq_queue hash and reference counts, the per-process
// cfq_io_context with its think-time and seek statistics and the idle-window decision, preemption,
// the ioprio mapping, the idle-slice and idle-class timers, exit, and the tunables under
// /sys/block/DEV/queue/iosched/. "current" is the queue's Submitter (the task a backlogged bio
// came from while kblockd queues it).
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class CfqElevator
{
    private IReadOnlyList<ElvAttribute>? _attrs;

    /// <summary>cfq_queue_pid: the process's own queue for reads and sync writes, the shared async one otherwise.</summary>
    private static int QueuePid(TaskStruct task, int rw, bool isSync) => rw == 0 || isSync ? task.Pid : CFQ_KEY_ASYNC;

    /// <summary>__cfq_find_cfq_hash: the queue with `key` and priority `prio` (0 matches any).</summary>
    private CfqQueue? FindCfqHash(int key, int prio)
    {
        foreach (var cfqq in _hash[RequestQueue.HashLong(key, CFQ_QHASH_SHIFT)])
        {
            int p = IoPrio.Value(cfqq.OrgIoprioClass, cfqq.OrgIoprio);
            if (cfqq.Key == key && (p == prio || prio == 0))
            {
                return cfqq;
            }
        }
        return null;
    }

    /// <summary>cfq_get_queue: the queue for `key` at the task's priority, made (new, idling allowed) if there is none; one more reference.</summary>
    private CfqQueue GetQueue(int key, TaskStruct task)
    {
        var cfqq = FindCfqHash(key, task.IoPrio);
        if (cfqq is null)
        {
            cfqq = new CfqQueue(this, key)
            {
                SliceLeft = 2 * SliceIdle, // lets a new process preempt
            };
            _hash[RequestQueue.HashLong(key, CFQ_QHASH_SHIFT)].Insert(0, cfqq);
            cfqq.Mark(CfqQueueFlags.IdleWindow | CfqQueueFlags.PrioChanged | CfqQueueFlags.QueueNew);
            InitPrioData(cfqq);
        }
        cfqq.Ref++;
        return cfqq;
    }

    /// <summary>cfq_put_queue: drop a reference; the last one frees the queue.</summary>
    private void PutQueue(CfqQueue cfqq)
    {
        if (cfqq.Ref <= 0)
        {
            throw new KernelBug($"cfq_put_queue: {cfqq} has no references");
        }
        if (--cfqq.Ref > 0)
        {
            return;
        }
        if (!cfqq.SortList.IsEmpty || cfqq.Allocated[0] + cfqq.Allocated[1] != 0 || cfqq.Has(CfqQueueFlags.OnRr))
        {
            throw new KernelBug($"cfq_put_queue: {cfqq} freed while it has requests");
        }
        if (ActiveQueue == cfqq)
        {
            SliceExpired(cfqq, preempted: false);
        }
        cfqq.RrNode.List?.Remove(cfqq.RrNode);
        _hash[RequestQueue.HashLong(cfqq.Key, CFQ_QHASH_SHIFT)].Remove(cfqq);
    }

    /// <summary>
    /// cfq_init_prio_data: after a priority change, take the class and level from the task: none
    /// set means best effort at the level its nice maps to; the idle class gets level 7 and no idling.
    /// </summary>
    private void InitPrioData(CfqQueue cfqq)
    {
        if (!cfqq.Has(CfqQueueFlags.PrioChanged))
        {
            return;
        }
        var tsk = Q.Submitter;
        switch (IoPrio.Class(tsk.IoPrio))
        {
            case IoprioClass.IOPRIO_CLASS_RT:
                cfqq.Ioprio = IoPrio.Data(tsk.IoPrio);
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_RT;
                break;
            case IoprioClass.IOPRIO_CLASS_BE:
                cfqq.Ioprio = IoPrio.Data(tsk.IoPrio);
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_BE;
                break;
            case IoprioClass.IOPRIO_CLASS_IDLE:
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_IDLE;
                cfqq.Ioprio = 7;
                cfqq.Clear(CfqQueueFlags.IdleWindow);
                break;
            default:
                if (IoPrio.Class(tsk.IoPrio) != IoprioClass.IOPRIO_CLASS_NONE)
                {
                    Q.Block.Printk($"cfq: bad prio {(int)IoPrio.Class(tsk.IoPrio):x}");
                }
                cfqq.Ioprio = IoPrio.TaskNiceIoprio(tsk);
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_BE;
                break;
        }
        cfqq.OrgIoprio = cfqq.Ioprio;
        cfqq.OrgIoprioClass = cfqq.IoprioClass;
        if (cfqq.Has(CfqQueueFlags.OnRr))
        {
            ResortRrList(cfqq, preempted: false);
        }
        cfqq.Clear(CfqQueueFlags.PrioChanged);
    }

    /// <summary>changed_ioprio: the task's async queue is swapped for the one of its new priority; its sync queue rereads the priority.</summary>
    private void ChangedIoprio(CfqIoContext cic)
    {
        if (cic.Cfqq[ASYNC] is { } oldAsync)
        {
            var fresh = GetQueue(CFQ_KEY_ASYNC, cic.Ioc.Task);
            cic.Cfqq[ASYNC] = fresh;
            PutQueue(oldAsync);
        }
        cic.Cfqq[SYNC]?.Mark(CfqQueueFlags.PrioChanged);
    }

    /// <summary>cfq_get_io_context: the task's cic for this queue, made and linked on first use; a pending ioprio change is applied on every CFQ queue it uses.</summary>
    private CfqIoContext GetIoContext(TaskStruct task)
    {
        var ioc = IoContext.Of(task);
        if (!ioc.Cics.TryGetValue(this, out var cic))
        {
            cic = new CfqIoContext(ioc, this, Jiffies);
            ioc.Cics.Add(this, cic);
            _cicList.Insert(0, cic);
        }
        if (ioc.IoprioChanged)
        {
            ioc.IoprioChanged = false;
            foreach (var other in ioc.Cics.Values.ToArray())
            {
                other.Cfqd?.ChangedIoprio(other);
            }
        }
        return cic;
    }

    /// <summary>__cfq_exit_single_io_context: the task is gone (or this elevator is): drop its references on its queues here.</summary>
    internal void ExitSingleIoContext(CfqIoContext cic)
    {
        _cicList.Remove(cic);
        cic.Cfqd = null;
        cic.Ioc.Cics.Remove(this);
        for (int i = ASYNC; i <= SYNC; i++)
        {
            if (cic.Cfqq[i] is { } cfqq)
            {
                if (cfqq == ActiveQueue)
                {
                    SliceExpired(cfqq, preempted: false);
                }
                PutQueue(cfqq);
                cic.Cfqq[i] = null;
            }
        }
    }

    /// <summary>cfq_update_io_thinktime: decaying mean of the time from a completion to the next request (capped at twice slice_idle).</summary>
    private void UpdateIoThinktime(CfqIoContext cic)
    {
        ulong elapsed = unchecked(Jiffies - cic.LastEndRequest);
        ulong ttime = Math.Min(elapsed, 2UL * SliceIdle);
        cic.TtimeSamples = (7 * cic.TtimeSamples + 256) / 8;
        cic.TtimeTotal = (7 * cic.TtimeTotal + 256 * ttime) / 8;
        cic.TtimeMean = (cic.TtimeTotal + 128) / cic.TtimeSamples;
    }

    /// <summary>cfq_update_io_seektime: decaying mean seek distance, an outlier capped near four times the mean.</summary>
    private static void UpdateIoSeektime(CfqIoContext cic, Request rq)
    {
        long sdist = Math.Abs(rq.Sector - cic.LastRequestPos);
        long cap = cic.SeekSamples <= 60 ? cic.SeekMean * 4 + 2 * 1024 * 1024 : cic.SeekMean * 4 + 2 * 1024 * 64;
        sdist = Math.Min(sdist, cap);
        cic.SeekSamples = (7 * cic.SeekSamples + 256) / 8;
        cic.SeekTotal = (7 * cic.SeekTotal + 256UL * (ulong)sdist) / 8;
        ulong total = cic.SeekTotal + cic.SeekSamples / 2;
        cic.SeekMean = (long)(total / cic.SeekSamples);
    }

    /// <summary>cfq_update_idle_window: no idling for an exited task, with slice_idle 0, for a seeky process on a queueing drive, or for one whose think time exceeds slice_idle.</summary>
    private void UpdateIdleWindow(CfqQueue cfqq, CfqIoContext cic)
    {
        bool enable = cfqq.Has(CfqQueueFlags.IdleWindow);
        if (cic.Ioc.Exited || SliceIdle == 0 || (HwTag && cic.Seeky))
        {
            enable = false;
        }
        else if (cic.TtimeSamples > 80)
        {
            enable = cic.TtimeMean <= SliceIdle;
        }
        if (enable)
        {
            cfqq.Mark(CfqQueueFlags.IdleWindow);
        }
        else
        {
            cfqq.Clear(CfqQueueFlags.IdleWindow);
        }
    }

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
        var tsk = Q.Submitter;
        var cfqq = FindCfqHash(QueuePid(tsk, bio.IsWrite ? 1 : 0, (bio.Rw & BioRw.BIO_RW_SYNC) != 0), tsk.IoPrio);
        if (cfqq?.SortList.Find(bio.Sector + bio.Sectors) is { } found && Q.ElvRqMergeOk(found, bio))
        {
            rq = found;
            return ElvMergeType.FrontMerge;
        }
        return ElvMergeType.NoMerge;
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
        var tsk = Q.Submitter;
        return RqCfqq(rq) is { } own && FindCfqHash(QueuePid(tsk, rw, bioSync), tsk.IoPrio) == own;
    }

    public override Request? FormerRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Prev(rq);

    public override Request? LatterRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Next(rq);

    /// <summary>cfq_may_queue: a queue that is being waited for must get its request; others may.</summary>
    public override ElvMayQueue MayQueue(int rw, bool sync)
    {
        var tsk = Q.Submitter;
        if (FindCfqHash(QueuePid(tsk, rw, sync), tsk.IoPrio) is not { } cfqq)
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

    /// <summary>cfq_prio_boost: with no file system holding exclusive resources here (has_fs_excl is never true), a boosted queue returns to its own priority.</summary>
    private void PrioBoost(CfqQueue cfqq)
    {
        var cls = cfqq.IoprioClass;
        int prio = cfqq.Ioprio;
        cfqq.IoprioClass = cfqq.OrgIoprioClass;
        cfqq.Ioprio = cfqq.OrgIoprio;
        if ((cls != cfqq.IoprioClass || prio != cfqq.Ioprio) && cfqq.Has(CfqQueueFlags.OnRr))
        {
            ResortRrList(cfqq, preempted: false);
        }
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
