// Linux 2.6.20 block/cfq-iosched.c struct cfq_queue: one process's requests on one disk under CFQ
// (reads and sync writes; all async writes of one priority share the queue keyed 0). It has a
// sector-sorted tree and a FIFO of its pending requests, a time slice while it is the active
// queue, and its place on one of the scheduler's round-robin lists. References come from the
// io contexts that use it and from each request allocated for it; the last put frees it.
namespace Kernel.Block;

/// <summary>enum cfqq_state_flags.</summary>
[Flags]
public enum CfqQueueFlags
{
    None = 0,
    OnRr = 1 << 0,
    WaitRequest = 1 << 1,
    MustAlloc = 1 << 2,
    MustAllocSlice = 1 << 3,
    MustDispatch = 1 << 4,
    FifoExpire = 1 << 5,
    IdleWindow = 1 << 6,
    PrioChanged = 1 << 7,
    QueueNew = 1 << 8,
}

public sealed class CfqQueue
{
    internal CfqQueue(CfqElevator cfqd, int key)
    {
        Cfqd = cfqd;
        Key = key;
        RrNode = new LinkedListNode<CfqQueue>(this);
    }

    /// <summary>cfqd: the scheduler instance (one per request queue).</summary>
    public CfqElevator Cfqd { get; }

    /// <summary>key: the pid of the process (sync queue), or CFQ_KEY_ASYNC (0) for async writes.</summary>
    public int Key { get; }

    /// <summary>ref: io contexts and allocated requests holding it.</summary>
    public int Ref { get; internal set; }

    public CfqQueueFlags Flags { get; internal set; }

    /// <summary>sort_list: pending requests by sector.</summary>
    internal SectorTree SortList { get; } = new();

    /// <summary>fifo: pending requests in arrival order.</summary>
    internal LinkedList<Request> Fifo { get; } = new();

    /// <summary>cfq_list: its place on an rr, busy, cur, idle list (or on none).</summary>
    internal LinkedListNode<CfqQueue> RrNode { get; }

    /// <summary>next_rq: the request it serves next unless the FIFO says otherwise.</summary>
    public Request? NextRq { get; internal set; }

    /// <summary>queued[sync]: pending requests of each kind.</summary>
    public int[] Queued { get; } = new int[2];

    /// <summary>allocated[rw]: live requests of each direction.</summary>
    public int[] Allocated { get; } = new int[2];

    public int MetaPending { get; internal set; }

    /// <summary>slice_start, slice_end (jiffies; 0 = not set yet), slice_left (jiffies).</summary>
    public uint SliceStart { get; internal set; }

    public uint SliceEnd { get; internal set; }

    public uint SliceLeft { get; internal set; }

    /// <summary>on_dispatch[sync]: its requests on the dispatch list or in the driver.</summary>
    public int[] OnDispatch { get; } = new int[2];

    /// <summary>ioprio and ioprio_class now (possibly boosted), and as set (org_ioprio*).</summary>
    public int Ioprio { get; internal set; }

    public IoprioClass IoprioClass { get; internal set; }

    public int OrgIoprio { get; internal set; }

    public IoprioClass OrgIoprioClass { get; internal set; }

    /// <summary>cfq_cfqq_dispatched: requests out on dispatch of either kind.</summary>
    public int Dispatched => OnDispatch[0] + OnDispatch[1];

    /// <summary>cfq_cfqq_class_sync: a per-process queue (not the shared async one).</summary>
    public bool ClassSync => Key != CfqElevator.CFQ_KEY_ASYNC;

    /// <summary>cfq_cfqq_sync: per-process, or with sync requests out.</summary>
    public bool Sync => ClassSync || OnDispatch[1] != 0;

    public bool ClassIdle => IoprioClass == IoprioClass.IOPRIO_CLASS_IDLE;

    public bool ClassRt => IoprioClass == IoprioClass.IOPRIO_CLASS_RT;

    internal bool Has(CfqQueueFlags f) => (Flags & f) != 0;

    internal void Mark(CfqQueueFlags f) => Flags |= f;

    internal void Clear(CfqQueueFlags f) => Flags &= ~f;

    public override string ToString() => $"cfqq {Key} ({IoprioClass} {Ioprio})";
}
