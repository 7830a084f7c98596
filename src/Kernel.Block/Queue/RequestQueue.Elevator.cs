// Linux 2.6.20 block/elevator.c, the generic half every I/O scheduler shares: the dispatch queue
// (queue_head) the driver takes requests from, the one-hit merge cache (last_merge), the
// back-merge hash (64 buckets keyed by a request's end sector), elv_dispatch_sort's one-way
// insertion relative to the head position (end_sector), insertion points, and the run-time
// switch of scheduler behind /sys/block/DEV/queue/scheduler.
using Kernel.Core;

namespace Kernel.Block;

/// <summary>ELEVATOR_INSERT_FRONT, _BACK, _SORT, _REQUEUE.</summary>
public enum ElvWhere
{
    Front = 1,
    Back = 2,
    Sort = 3,
    Requeue = 4,
}

public sealed partial class RequestQueue
{
    /// <summary>elv_hash_shift: 64 hash buckets.</summary>
    public const int ELV_HASH_SHIFT = 6;

    private const uint GOLDEN_RATIO_PRIME_32 = 0x9e370001;

    private readonly LinkedList<Request> _queueHead = new();
    private readonly LinkedList<Request>[] _hash = Enumerable.Range(0, 1 << ELV_HASH_SHIFT).Select(_ => new LinkedList<Request>()).ToArray();
    private readonly ElevatorRegistry _elevators;

    /// <summary>The I/O scheduler (q->elevator).</summary>
    public Elevator Elevator { get; private set; } = null!;

    /// <summary>queue_head: the dispatch queue, in the order the driver will be given requests.</summary>
    public IEnumerable<Request> DispatchQueue => _queueHead;

    public int DispatchCount => _queueHead.Count;

    /// <summary>The last request on the dispatch queue (q->queue_head.prev), or null.</summary>
    public Request? DispatchTail => _queueHead.Last?.Value;

    /// <summary>last_merge: the one-hit cache elv_merge tries first.</summary>
    public Request? LastMerge { get; private set; }

    /// <summary>end_sector: where the last request given to the driver ends (elv_dispatch_sort's boundary).</summary>
    public long EndSector { get; private set; }

    /// <summary>boundary_rq: a request the dispatch sort must not pass.</summary>
    public Request? BoundaryRq { get; private set; }

    /// <summary>nr_sorted: requests inside the elevator.</summary>
    public int NrSorted { get; private set; }

    /// <summary>in_flight: requests the driver has taken and not finished.</summary>
    public int InFlight { get; private set; }

    /// <summary>rq.elvpriv: requests that carry the current elevator's private data.</summary>
    public int ElvPriv { get; private set; }

    /// <summary>hash_long for a 32-bit unsigned long (include/linux/hash.h).</summary>
    internal static int HashLong(long val, int bits) => (int)(unchecked((uint)val * GOLDEN_RATIO_PRIME_32) >> (32 - bits));

    private static long RqHashKey(Request rq) => rq.Sector + rq.NrSectors;

    private LinkedList<Request> HashBucket(long offset) => _hash[HashLong(offset >> 3, ELV_HASH_SHIFT)];

    private void RqHashAdd(Request rq)
    {
        if (rq.HashNode.List is not null)
        {
            throw new KernelBug($"elv_rqhash_add: {rq} is already hashed");
        }
        HashBucket(RqHashKey(rq)).AddFirst(rq.HashNode);
    }

    private static void RqHashDel(Request rq) => rq.HashNode.List?.Remove(rq.HashNode);

    private void RqHashReposition(Request rq)
    {
        RqHashDel(rq);
        RqHashAdd(rq);
    }

    private Request? RqHashFind(long offset)
    {
        var bucket = HashBucket(offset);
        for (var n = bucket.First; n is not null;)
        {
            var next = n.Next;
            var rq = n.Value;
            if (!rq.Mergeable)
            {
                bucket.Remove(n);
            }
            else if (RqHashKey(rq) == offset)
            {
                return rq;
            }
            n = next;
        }
        return null;
    }

    /// <summary>elv_rq_merge_ok: `rq` takes bios, goes the same way, and the scheduler agrees.</summary>
    public bool ElvRqMergeOk(Request rq, Bio bio) =>
        rq.Mergeable && (bio.IsWrite ? 1 : 0) == rq.DataDir && Elevator.AllowMerge(rq, bio);

    private ElvMergeType ElvTryMerge(Request rq, Bio bio)
    {
        if (!ElvRqMergeOk(rq, bio))
        {
            return ElvMergeType.NoMerge;
        }
        if (rq.Sector + rq.NrSectors == bio.Sector)
        {
            return ElvMergeType.BackMerge;
        }
        return rq.Sector - bio.Sectors == bio.Sector ? ElvMergeType.FrontMerge : ElvMergeType.NoMerge;
    }

    /// <summary>elv_merge: the last-merge cache, then the back-merge hash, then the scheduler's own lookup.</summary>
    public ElvMergeType ElvMerge(Bio bio, out Request? rq)
    {
        ArgumentNullException.ThrowIfNull(bio);
        if (LastMerge is { } last)
        {
            var ret = ElvTryMerge(last, bio);
            if (ret != ElvMergeType.NoMerge)
            {
                rq = last;
                return ret;
            }
        }
        var hashed = RqHashFind(bio.Sector);
        if (hashed is not null && ElvRqMergeOk(hashed, bio))
        {
            rq = hashed;
            return ElvMergeType.BackMerge;
        }
        return Elevator.Merge(bio, out rq);
    }

    /// <summary>elv_merged_request: a bio joined `rq`.</summary>
    internal void ElvMergedRequest(Request rq, ElvMergeType type)
    {
        Elevator.Merged(rq, type);
        if (type == ElvMergeType.BackMerge)
        {
            RqHashReposition(rq);
        }
        LastMerge = rq;
    }

    /// <summary>elv_merge_requests: `next` joined `rq` and goes.</summary>
    internal void ElvMergeRequests(Request rq, Request nextRq)
    {
        Elevator.MergeRequests(rq, nextRq);
        RqHashReposition(rq);
        RqHashDel(nextRq);
        NrSorted--;
        LastMerge = rq;
    }

    /// <summary>
    /// elv_dispatch_sort: put `rq` on the dispatch queue in a one-way sweep from the head
    /// (end_sector): behind requests at or above the head in ascending order, then those below
    /// it, never in front of a barrier or a started request.
    /// </summary>
    public void ElvDispatchSort(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (LastMerge == rq)
        {
            LastMerge = null;
        }
        RqHashDel(rq);
        NrSorted--;
        long boundary = EndSector;
        var entry = _queueHead.Last;
        for (; entry is not null; entry = entry.Previous)
        {
            var pos = entry.Value;
            if ((pos.CmdFlags & (RequestFlags.REQ_SOFTBARRIER | RequestFlags.REQ_HARDBARRIER | RequestFlags.REQ_STARTED)) != 0)
            {
                break;
            }
            if (rq.Sector >= boundary)
            {
                if (pos.Sector < boundary)
                {
                    continue;
                }
            }
            else if (pos.Sector >= boundary)
            {
                break;
            }
            if (rq.Sector >= pos.Sector)
            {
                break;
            }
        }
        if (entry is null)
        {
            _queueHead.AddFirst(rq.QueueNode);
        }
        else
        {
            _queueHead.AddAfter(entry, rq.QueueNode);
        }
    }

    /// <summary>elv_dispatch_add_tail: `rq` goes to the back of the dispatch queue and becomes the boundary.</summary>
    public void ElvDispatchAddTail(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (LastMerge == rq)
        {
            LastMerge = null;
        }
        RqHashDel(rq);
        NrSorted--;
        EndSector = rq.EndSector;
        BoundaryRq = rq;
        _queueHead.AddLast(rq.QueueNode);
    }

    /// <summary>elv_drain_elevator: everything the elevator holds goes to the dispatch queue.</summary>
    private void ElvDrainElevator()
    {
        while (Elevator.Dispatch(force: true))
        {
        }
        if (NrSorted != 0)
        {
            throw new KernelBug($"{Elevator.Name}: forced dispatching is broken (nr_sorted={NrSorted})");
        }
    }

    /// <summary>elv_insert: put `rq` where `where` says; with the queue plugged, enough requests unplug it.</summary>
    internal void ElvInsert(Request rq, ElvWhere where)
    {
        Trace(BlockAction.Insert, rq);
        bool unplugIt = true;
        switch (where)
        {
            case ElvWhere.Front:
                rq.CmdFlags |= RequestFlags.REQ_SOFTBARRIER;
                _queueHead.AddFirst(rq.QueueNode);
                break;
            case ElvWhere.Back:
                rq.CmdFlags |= RequestFlags.REQ_SOFTBARRIER;
                ElvDrainElevator();
                _queueHead.AddLast(rq.QueueNode);
                // A back insertion is a scheduling boundary: run the queue now.
                RemovePlug();
                RunRequestFn();
                break;
            case ElvWhere.Sort:
                rq.CmdFlags |= RequestFlags.REQ_SORTED;
                NrSorted++;
                if (rq.Mergeable)
                {
                    RqHashAdd(rq);
                    LastMerge ??= rq;
                }
                Elevator.AddRequest(rq);
                break;
            case ElvWhere.Requeue:
                rq.CmdFlags |= RequestFlags.REQ_SOFTBARRIER;
                unplugIt = false; // a requeue comes from a busy driver: do not force an unplug for it
                _queueHead.AddFirst(rq.QueueNode);
                break;
            default:
                throw new KernelBug($"elv_insert: bad insertion point {where}");
        }
        if (unplugIt && Plugged)
        {
            int nrq = Count[0] + Count[1] - InFlight;
            if (nrq >= UnplugThresh)
            {
                GenericUnplugDevice(byThreshold: true);
            }
        }
    }

    /// <summary>__elv_add_request: barriers and requests without elevator data go to the back; `plug` plugs first.</summary>
    internal void ElvAddRequest(Request rq, ElvWhere where, bool plug)
    {
        if ((rq.CmdFlags & (RequestFlags.REQ_SOFTBARRIER | RequestFlags.REQ_HARDBARRIER)) != 0)
        {
            if (where == ElvWhere.Sort)
            {
                where = ElvWhere.Back;
            }
            EndSector = rq.EndSector;
            BoundaryRq = rq;
        }
        else if ((rq.CmdFlags & RequestFlags.REQ_ELVPRIV) == 0 && where == ElvWhere.Sort)
        {
            where = ElvWhere.Back;
        }
        if (plug)
        {
            PlugDevice();
        }
        ElvInsert(rq, where);
    }

    /// <summary>
    /// elv_next_request: the request the driver should serve next (it stays on the dispatch queue
    /// until blkdev_dequeue_request), asking the elevator for more when the dispatch queue is
    /// empty. The first time the driver sees a request it is marked REQ_STARTED (no bio may merge
    /// into it after that) and the issue is traced.
    /// </summary>
    public Request? ElvNextRequest()
    {
        Request? rq;
        while (true)
        {
            if (_queueHead.First is { } first)
            {
                rq = first.Value;
                break;
            }
            if (!Elevator.Dispatch(force: false))
            {
                return null;
            }
        }
        if ((rq.CmdFlags & RequestFlags.REQ_STARTED) == 0)
        {
            // The owner, not the current elevator: after a switch the old one still owns its requests (see ElevatorSwitch).
            if (rq.Sorted && rq.ElevatorOwner is { } owner)
            {
                owner.ActivateRequest(rq);
            }
            rq.CmdFlags |= RequestFlags.REQ_STARTED;
            Trace(BlockAction.Issue, rq);
        }
        if (BoundaryRq is null || BoundaryRq == rq)
        {
            EndSector = rq.EndSector;
            BoundaryRq = null;
        }
        return rq;
    }

    /// <summary>blkdev_dequeue_request (elv_dequeue_request): the driver takes `rq`; it is in flight from now.</summary>
    public void BlkdevDequeueRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (rq.QueueNode.List != _queueHead)
        {
            throw new KernelBug($"elv_dequeue_request: {rq} is not on the dispatch queue of {Name}");
        }
        _queueHead.Remove(rq.QueueNode);
        InFlight++;
        rq.Dequeued = true;
        rq.IssueTime = Machine.Now;
    }

    /// <summary>elv_requeue_request: the driver gives `rq` back; it goes to the front of the dispatch queue.</summary>
    public void ElvRequeueRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (!rq.Dequeued)
        {
            throw new KernelBug($"elv_requeue_request: {rq} was not taken by the driver");
        }
        InFlight--;
        rq.Dequeued = false;
        if (rq.Sorted && rq.ElevatorOwner is { } e)
        {
            e.DeactivateRequest(rq);
        }
        rq.CmdFlags &= ~RequestFlags.REQ_STARTED;
        Trace(BlockAction.Requeue, rq);
        ElvInsert(rq, ElvWhere.Requeue);
    }

    /// <summary>elv_queue_empty: nothing on the dispatch queue nor in the elevator.</summary>
    public bool ElvQueueEmpty => _queueHead.Count == 0 && Elevator.QueueEmpty;

    /// <summary>elv_completed_request: the driver released `rq`.</summary>
    private void ElvCompletedRequest(Request rq)
    {
        InFlight--;
        rq.Dequeued = false;
        if (rq.Sorted && rq.ElevatorOwner is { } e)
        {
            e.CompletedRequest(rq);
        }
    }

    /// <summary>/sys/block/DEV/queue/scheduler: the registered elevators with the current one in brackets.</summary>
    public string ElvIoschedShow() =>
        string.Join(' ', _elevators.Names.Select(n => n == Elevator.Name ? $"[{n}]" : n)) + " \n";

    /// <summary>
    /// elv_iosched_store and elevator_switch: a trailing newline is dropped; an unknown name is
    /// -EINVAL and changes nothing; the current name is a no-op. The old elevator is drained into
    /// the dispatch queue and the new one attached at once. Deviation: 2.6.20 then sleeps (msleep
    /// loop) until every request carrying the old elevator's private data has completed; here
    /// those requests keep a reference to the old elevator, which hears of their completion and
    /// exits after the last, so the store itself never sleeps.
    /// </summary>
    public long ElevatorSwitch(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.EndsWith('\n'))
        {
            name = name[..^1];
        }
        if (!_elevators.Contains(name))
        {
            return Errno.EINVAL.Ret();
        }
        if (name == Elevator.Name)
        {
            return 0;
        }
        var e = _elevators.Create(name)!;
        ElvDrainElevator();
        var old = Elevator;
        old.Retiring = true;
        Attach(e);
        if (old.Outstanding == 0)
        {
            old.ExitQueue();
        }
        return 0;
    }

    private void Attach(Elevator e)
    {
        e.Q = this;
        e.Init();
        Elevator = e;
        LastMerge = null;
        ElvPriv = 0;
        ElevatorChanged?.Invoke(this);
    }

    /// <summary>Raised after the elevator changes (the /sys iosched directory follows it).</summary>
    public event Action<RequestQueue>? ElevatorChanged;
}
