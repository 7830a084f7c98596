// Linux 2.6.20 block/cfq-iosched.c, complete fairness queueing: each process gets its own queue
// of sync requests (reads and sync writes), async writes share one queue per priority, and the
// disk is given to one queue at a time for a time slice (slice_sync 100 ms, slice_async 40 ms,
// scaled by the I/O priority). Within its slice a queue dispatches up to `quantum` requests per
// round in sector order (cfq_choose_req, as AS has it) unless its FIFO has an expired one; when a
// sync queue runs dry it may keep the disk idle for slice_idle (8 ms) waiting for the process's
// next request, unless that process thinks too long or seeks too far. Queues wait their turn on
// round-robin lists per best-effort level (served in widening rounds 0; 0,1; 0,1,2; ...), real-time
// queues on cur_rr first, idle-class queues only after a grace period of silence. This file holds
// the scheduler's state, its choice of a queue and of what it dispatches; .RoundRobin.cs the
// lists; .Queues.cs the cfq_queues and io contexts; .Requests.cs the request hooks, timers and
// tunables.
using Kernel.Core;
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class CfqElevator : Elevator
{
    /// <summary>CFQ_KEY_ASYNC: the key of the queue async writes share.</summary>
    public const int CFQ_KEY_ASYNC = 0;

    /// <summary>CFQ_PRIO_LISTS: one round-robin list per best-effort level.</summary>
    public const int CFQ_PRIO_LISTS = IoPrio.IOPRIO_BE_NR;

    public const int CFQ_SLICE_SCALE = 5;
    private const int CFQ_QHASH_SHIFT = 6;
    private const int ASYNC = 0, SYNC = 1;

    private readonly LinkedList<CfqQueue>[] _rrList = Enumerable.Range(0, CFQ_PRIO_LISTS).Select(_ => new LinkedList<CfqQueue>()).ToArray();
    private readonly LinkedList<CfqQueue> _busyRr = new();
    private readonly LinkedList<CfqQueue> _curRr = new();
    private readonly LinkedList<CfqQueue> _idleRr = new();
    private readonly List<CfqQueue>[] _hash = Enumerable.Range(0, 1 << CFQ_QHASH_SHIFT).Select(_ => new List<CfqQueue>()).ToArray();
    private readonly List<CfqIoContext> _cicList = new();
    private KTimer _idleSliceTimer = null!;
    private KTimer _idleClassTimer = null!;
    private Action _unplugWork = null!;
    private int _curPrio, _curEndPrio;
    private uint _idleGrace;

    public override string Name => "cfq";

    /// <summary>busy_queues: queues with requests waiting.</summary>
    public int BusyQueues { get; private set; }

    /// <summary>rq_in_driver: requests the driver has seen and not finished.</summary>
    public int RqInDriver { get; private set; }

    /// <summary>hw_tag: the driver was seen to queue more than four requests (it does its own queueing).</summary>
    public bool HwTag { get; private set; }

    /// <summary>active_queue: the queue whose slice it is, or null.</summary>
    public CfqQueue? ActiveQueue { get; private set; }

    /// <summary>active_cic: the io context of the active queue's first request of this slice.</summary>
    public CfqIoContext? ActiveCic { get; private set; }

    /// <summary>dispatch_slice: requests dispatched in the current slice.</summary>
    public int DispatchSlice { get; private set; }

    /// <summary>last_sector: where the head will be after the last dispatched request.</summary>
    public long LastSector { get; private set; }

    /// <summary>last_end_request: jiffies of the last completion of a non-idle-class request.</summary>
    public uint LastEndRequest { get; private set; }

    // Tunables, in jiffies where they are times (cfq_data's copies of the defaults at the top of cfq-iosched.c).
    public uint Quantum { get; private set; }

    /// <summary>cfq_fifo_expire[async, sync].</summary>
    public uint[] FifoExpire { get; } = new uint[2];

    public uint BackPenalty { get; private set; }

    /// <summary>back_seek_max, in KiB.</summary>
    public uint BackMax { get; private set; }

    /// <summary>cfq_slice[async, sync].</summary>
    public uint[] Slice { get; } = new uint[2];

    public uint SliceAsyncRq { get; private set; }

    public uint SliceIdle { get; private set; }

    /// <summary>Slices begun (a queue made active), preemptions, idle waits armed and idle waits that timed out.</summary>
    public long Slices { get; private set; }

    public long Preemptions { get; private set; }

    public long IdleWaits { get; private set; }

    public long IdleTimeouts { get; private set; }

    /// <summary>Every cfq_queue alive on this disk (the hash's contents).</summary>
    public IEnumerable<CfqQueue> CfqQueues => _hash.SelectMany(b => b);

    public override int Queued => CfqQueues.Sum(q => q.Fifo.Count);

    public override IEnumerable<Request> QueuedRequests => CfqQueues.SelectMany(q => q.Fifo);

    public override bool QueueEmpty => BusyQueues == 0;

    private Machine M => Q.Machine;

    private uint Jiffies => Q.Machine.Jiffies;

    protected internal override void Init()
    {
        var hz = M.Hz.Value;
        Quantum = 4;
        FifoExpire[ASYNC] = (uint)(hz / 4);
        FifoExpire[SYNC] = (uint)(hz / 8);
        BackMax = 16 * 1024;
        BackPenalty = 2;
        Slice[ASYNC] = (uint)Math.Max(1, hz / 25); // cfq_init: "could be 0 on HZ < 1000 setups"
        Slice[SYNC] = (uint)(hz / 10);
        SliceAsyncRq = 2;
        SliceIdle = (uint)Math.Max(1, hz / 125);
        _idleGrace = (uint)(hz / 10);
        // Deviation: 2.6.20 leaves last_end_request 0, and with jiffies starting at INITIAL_JIFFIES
        // (-300 s) the idle class would then wait until jiffies wrap, and a best-effort request
        // that arrives meanwhile sits unserved; later kernels start it at jiffies, as here.
        LastEndRequest = Q.Machine.Jiffies;
        _idleSliceTimer = new KTimer(_ => IdleSliceTimer(), this);
        _idleClassTimer = new KTimer(_ => IdleClassTimer(), this);
        _unplugWork = KickQueue;
    }

    /// <summary>rq_is_sync: a read, or a write marked sync.</summary>
    private static int IsSync(Request rq) => rq.DataDir == 0 || (rq.CmdFlags & RequestFlags.REQ_RW_SYNC) != 0 ? SYNC : ASYNC;

    private static bool IsMeta(Request rq) => (rq.CmdFlags & RequestFlags.REQ_RW_META) != 0;

    private static CfqIoContext RqCic(Request rq) => (CfqIoContext)rq.ElevatorPrivate!;

    private static CfqQueue? RqCfqq(Request rq) => rq.ElevatorPrivate2 as CfqQueue;

    /// <summary>cfq_schedule_dispatch: run the queue from kblockd if anything waits.</summary>
    private void ScheduleDispatch()
    {
        if (BusyQueues != 0)
        {
            Q.Block.Kblockd.ScheduleWork(_unplugWork);
        }
    }

    /// <summary>cfq_kick_queue: kblockd's work, blk_start_queueing under the queue lock.</summary>
    private void KickQueue()
    {
        M.ChargeLock(Q.QueueLock, M.ThisCpu, Q.Block.Costs.UnplugNs);
        Q.StartQueueing();
    }

    /// <summary>cfq_choose_req: of two requests, the sync one, then the metadata one, then the nearer ahead of the head (short back seeks cost back_seek_penalty times).</summary>
    private Request? ChooseReq(Request? rq1, Request? rq2)
    {
        if (rq1 is null || rq1 == rq2)
        {
            return rq2;
        }
        if (rq2 is null)
        {
            return rq1;
        }
        int sync1 = IsSync(rq1), sync2 = IsSync(rq2);
        if (sync1 != sync2)
        {
            return sync1 == SYNC ? rq1 : rq2;
        }
        bool meta1 = IsMeta(rq1), meta2 = IsMeta(rq2);
        if (meta1 != meta2)
        {
            return meta1 ? rq1 : rq2;
        }
        return SeekChoice.Choose(rq1, rq2, LastSector, (long)BackMax * 2, BackPenalty); // back_seek_max is in KiB: 2 sectors each
    }

    /// <summary>cfq_find_next_rq: the better of the requests after and before `last` (wrapping to the first).</summary>
    private Request? FindNextRq(CfqQueue cfqq, Request last)
    {
        if (last.RbTree != cfqq.SortList)
        {
            throw new KernelBug($"cfq_find_next_rq: {last} is not in the sort tree of {cfqq}");
        }
        var prev = SectorTree.Prev(last);
        var next = SectorTree.Next(last);
        if (next is null)
        {
            var first = cfqq.SortList.First();
            if (first is not null && first != last)
            {
                next = first;
            }
        }
        return ChooseReq(next, prev);
    }

    private void DelRqRb(Request rq)
    {
        var cfqq = RqCfqq(rq)!;
        int sync = IsSync(rq);
        if (cfqq.Queued[sync] == 0)
        {
            throw new KernelBug($"cfq_del_rq_rb: {cfqq} has no {(sync == SYNC ? "sync" : "async")} request queued");
        }
        cfqq.Queued[sync]--;
        cfqq.SortList.Remove(rq);
        if (cfqq.Has(CfqQueueFlags.OnRr) && cfqq.SortList.IsEmpty)
        {
            DelCfqqRr(cfqq);
        }
    }

    /// <summary>cfq_add_rq_rb: into the sort tree; a request already at that sector (an alias) goes straight to dispatch.</summary>
    private void AddRqRb(Request rq)
    {
        var cfqq = RqCfqq(rq)!;
        cfqq.Queued[IsSync(rq)]++;
        while (cfqq.SortList.Add(rq) is { } alias)
        {
            DispatchInsert(alias);
        }
        if (!cfqq.Has(CfqQueueFlags.OnRr))
        {
            AddCfqqRr(cfqq);
        }
    }

    private void RepositionRqRb(CfqQueue cfqq, Request rq)
    {
        cfqq.SortList.Remove(rq);
        cfqq.Queued[IsSync(rq)]--;
        AddRqRb(rq);
    }

    /// <summary>cfq_remove_request: out of the FIFO and the tree, with next_rq moved on.</summary>
    private void RemoveRequest(Request rq)
    {
        var cfqq = RqCfqq(rq)!;
        if (cfqq.NextRq == rq)
        {
            cfqq.NextRq = FindNextRq(cfqq, rq);
        }
        if (rq.QueueNode.List == cfqq.Fifo)
        {
            cfqq.Fifo.Remove(rq.QueueNode);
        }
        DelRqRb(rq);
        if (IsMeta(rq))
        {
            cfqq.MetaPending--;
        }
    }

    /// <summary>__cfq_set_active_queue: `cfqq`'s slice starts (its length is set at its first dispatch).</summary>
    private void SetActive(CfqQueue? cfqq)
    {
        if (cfqq is not null)
        {
            _idleClassTimer.Del(M);
            cfqq.SliceStart = Jiffies;
            cfqq.SliceEnd = 0;
            cfqq.SliceLeft = 0;
            cfqq.Clear(CfqQueueFlags.MustAllocSlice | CfqQueueFlags.FifoExpire);
            Slices++;
        }
        ActiveQueue = cfqq;
    }

    /// <summary>__cfq_slice_expired: `cfqq`'s slice ends (it idled out, used its time or was preempted); what is left of it is kept.</summary>
    private void SliceExpired(CfqQueue cfqq, bool preempted)
    {
        uint now = Jiffies;
        if (cfqq.Has(CfqQueueFlags.WaitRequest))
        {
            _idleSliceTimer.Del(M);
        }
        if (!preempted && cfqq.Dispatched == 0)
        {
            ScheduleDispatch();
        }
        cfqq.Clear(CfqQueueFlags.MustDispatch | CfqQueueFlags.WaitRequest | CfqQueueFlags.QueueNew);
        cfqq.SliceLeft = Hz.TimeAfter(cfqq.SliceEnd, now) ? cfqq.SliceEnd - now : 0;
        if (cfqq.Has(CfqQueueFlags.OnRr))
        {
            ResortRrList(cfqq, preempted);
        }
        if (cfqq == ActiveQueue)
        {
            ActiveQueue = null;
        }
        ActiveCic = null;
        DispatchSlice = 0;
    }

    private void SliceExpired(bool preempted)
    {
        if (ActiveQueue is { } cfqq)
        {
            SliceExpired(cfqq, preempted);
        }
    }

    /// <summary>
    /// cfq_arm_slice_timer: the active sync queue ran dry; keep the disk for it up to slice_idle
    /// (2 ms for a process known to seek far) unless idling is off for it or its task exited.
    /// </summary>
    private bool ArmSliceTimer(CfqQueue cfqq)
    {
        if (SliceIdle == 0 || !cfqq.Has(CfqQueueFlags.IdleWindow))
        {
            return false;
        }
        if (ActiveCic is not { } cic || cic.Ioc.Exited)
        {
            return false;
        }
        cfqq.Mark(CfqQueueFlags.MustDispatch | CfqQueueFlags.WaitRequest);
        // As 2.6.20 writes it: the absolute slice end minus one against the idle time, which is almost always the idle time.
        uint sl = Math.Min(unchecked(cfqq.SliceEnd - 1), SliceIdle);
        if (cic.SeekSamples > 80 && cic.Seeky)
        {
            sl = Math.Min(sl, M.Hz.MsecsToJiffies(2));
        }
        _idleSliceTimer.Mod(M, Jiffies + sl);
        IdleWaits++;
        return true;
    }

    /// <summary>cfq_dispatch_insert: onto the dispatch queue in sector order; the head will be past the dispatch queue's last request.</summary>
    private void DispatchInsert(Request rq)
    {
        var cfqq = RqCfqq(rq)!;
        RemoveRequest(rq);
        cfqq.OnDispatch[IsSync(rq)]++;
        Q.ElvDispatchSort(rq);
        var tail = Q.DispatchTail!;
        LastSector = tail.Sector + tail.NrSectors;
    }

    /// <summary>cfq_check_fifo: the oldest request if it expired (at most one per slice), else null.</summary>
    private Request? CheckFifo(CfqQueue cfqq)
    {
        if (cfqq.Has(CfqQueueFlags.FifoExpire) || cfqq.Fifo.First is not { } first)
        {
            return null;
        }
        var rq = first.Value;
        if (Hz.TimeAfter(Jiffies, rq.StartJiffies + FifoExpire[cfqq.ClassSync ? SYNC : ASYNC]))
        {
            cfqq.Mark(CfqQueueFlags.FifoExpire);
            return rq;
        }
        return null;
    }

    /// <summary>cfq_prio_to_slice: the base slice (sync only for a queue with sync I/O) plus a fifth of it per level above 4, less per level below.</summary>
    public int PrioToSlice(CfqQueue cfqq)
    {
        ArgumentNullException.ThrowIfNull(cfqq);
        int baseSlice = (int)Slice[cfqq.Sync ? SYNC : ASYNC];
        return baseSlice + baseSlice / CFQ_SLICE_SCALE * (4 - cfqq.Ioprio);
    }

    /// <summary>cfq_prio_to_maxrq: how many requests an async queue dispatches in one slice.</summary>
    public int PrioToMaxrq(CfqQueue cfqq)
    {
        ArgumentNullException.ThrowIfNull(cfqq);
        int baseRq = (int)SliceAsyncRq;
        return 2 * (baseRq + baseRq * (CFQ_PRIO_LISTS - 1 - cfqq.Ioprio));
    }

    /// <summary>
    /// cfq_select_queue: keep the active queue while its slice lasts and it has requests (or some
    /// out, or is worth idling for); else end its slice and pick the next. Null while idling.
    /// </summary>
    private CfqQueue? SelectQueue()
    {
        var cfqq = ActiveQueue;
        if (cfqq is null)
        {
            return SelectNewQueue();
        }
        if (!cfqq.Has(CfqQueueFlags.MustDispatch) && Hz.TimeAfter(Jiffies, cfqq.SliceEnd))
        {
            // the slice is over
        }
        else if (!cfqq.SortList.IsEmpty)
        {
            return cfqq;
        }
        else if (cfqq.Dispatched != 0)
        {
            return null;
        }
        else if (cfqq.ClassSync && ArmSliceTimer(cfqq))
        {
            return null;
        }
        SliceExpired(preempted: false);
        return SelectNewQueue();
    }

    /// <summary>__cfq_dispatch_requests: up to `maxDispatch` of `cfqq`'s requests; an async queue's slice ends after its request budget, an idle-class or non-idling one's after one round.</summary>
    private int DispatchFrom(CfqQueue cfqq, int maxDispatch)
    {
        if (cfqq.SortList.IsEmpty)
        {
            throw new KernelBug($"__cfq_dispatch_requests: {cfqq} has nothing to dispatch");
        }
        int dispatched = 0;
        do
        {
            var rq = CheckFifo(cfqq) ?? cfqq.NextRq!;
            DispatchInsert(rq);
            DispatchSlice++;
            dispatched++;
            ActiveCic ??= RqCic(rq);
        }
        while (!cfqq.SortList.IsEmpty && dispatched < maxDispatch);
        if (cfqq.SliceEnd == 0)
        {
            cfqq.SliceEnd = (uint)(PrioToSlice(cfqq) + Jiffies);
        }
        if ((!cfqq.Sync && DispatchSlice >= PrioToMaxrq(cfqq)) || cfqq.ClassIdle || !cfqq.Has(CfqQueueFlags.IdleWindow))
        {
            SliceExpired(preempted: false);
        }
        return dispatched;
    }

    private int ForcedDispatch()
    {
        int dispatched = 0;
        foreach (var list in _rrList.Append(_busyRr).Append(_curRr).Append(_idleRr))
        {
            foreach (var cfqq in list.ToArray())
            {
                while (cfqq.NextRq is { } rq)
                {
                    DispatchInsert(rq);
                    dispatched++;
                }
                if (cfqq.Fifo.Count != 0)
                {
                    throw new KernelBug($"cfq_forced_dispatch: {cfqq} kept {cfqq.Fifo.Count} requests");
                }
            }
        }
        SliceExpired(preempted: false);
        if (BusyQueues != 0)
        {
            throw new KernelBug($"cfq_forced_dispatch: {BusyQueues} queues still busy");
        }
        return dispatched;
    }

    /// <summary>cfq_dispatch_requests: serve queues until one keeps the disk (it idles or still has its slice); `force` drains everything.</summary>
    public override bool Dispatch(bool force)
    {
        if (BusyQueues == 0)
        {
            return false;
        }
        if (force)
        {
            return ForcedDispatch() > 0;
        }
        int dispatched = 0;
        CfqQueue? prev = null;
        while (SelectQueue() is { } cfqq)
        {
            if (prev == cfqq)
            {
                break;
            }
            cfqq.Clear(CfqQueueFlags.MustDispatch | CfqQueueFlags.WaitRequest);
            _idleSliceTimer.Del(M);
            int max = cfqq.ClassIdle ? 1 : (int)Math.Min(Quantum, int.MaxValue);
            dispatched += DispatchFrom(cfqq, max);
            if (cfqq.Has(CfqQueueFlags.IdleWindow) && ActiveQueue is not null)
            {
                break;
            }
            prev = cfqq;
        }
        return dispatched > 0;
    }
}
