// Linux 2.6.20 include/linux/blkdev.h struct request: what an elevator sorts and a driver serves.
// A request covers a contiguous run of sectors in one direction and chains the bios that make
// it (bio .. biotail, linked by bi_next); merging a bio grows it at the back or the front.
namespace Kernel.Block;

/// <summary>cmd_flags (rq_flag_bits), the ones modelled.</summary>
[Flags]
public enum RequestFlags
{
    None = 0,
    /// <summary>REQ_RW: a write.</summary>
    REQ_RW = 1 << 0,
    REQ_FAILFAST = 1 << 1,
    /// <summary>REQ_SORTED: in the elevator's sort structures.</summary>
    REQ_SORTED = 1 << 2,
    REQ_SOFTBARRIER = 1 << 3,
    REQ_HARDBARRIER = 1 << 4,
    REQ_FUA = 1 << 5,
    /// <summary>REQ_NOMERGE: no bio may join it.</summary>
    REQ_NOMERGE = 1 << 6,
    /// <summary>REQ_STARTED: the driver has begun it.</summary>
    REQ_STARTED = 1 << 7,
    REQ_DONTPREP = 1 << 8,
    REQ_QUEUED = 1 << 9,
    REQ_ELVPRIV = 1 << 10,
    REQ_FAILED = 1 << 11,
    REQ_QUIET = 1 << 12,
    REQ_PREEMPT = 1 << 13,
    REQ_ORDERED_COLOR = 1 << 14,
    REQ_RW_SYNC = 1 << 15,
    /// <summary>REQ_ALLOCED: taken from the queue's request pool (freed_request accounts it).</summary>
    REQ_ALLOCED = 1 << 16,
    /// <summary>REQ_RW_META: file-system metadata (CFQ serves it first).</summary>
    REQ_RW_META = 1 << 17,
}

public sealed class Request
{
    internal Request(RequestQueue q)
    {
        Q = q;
        QueueNode = new LinkedListNode<Request>(this);
        HashNode = new LinkedListNode<Request>(this);
        DoneNode = new LinkedListNode<Request>(this);
    }

    /// <summary>q: the queue it belongs to.</summary>
    public RequestQueue Q { get; }

    public RequestFlags CmdFlags { get; internal set; }

    /// <summary>rq_data_dir: 1 for a write, 0 for a read.</summary>
    public int DataDir => (CmdFlags & RequestFlags.REQ_RW) != 0 ? 1 : 0;

    /// <summary>sector and nr_sectors: the next sector to submit and how many remain.</summary>
    public long Sector { get; internal set; }

    public long NrSectors { get; internal set; }

    /// <summary>hard_sector and hard_nr_sectors: the same for completion, which the driver moves.</summary>
    public long HardSector { get; internal set; }

    public long HardNrSectors { get; internal set; }

    /// <summary>current_nr_sectors: sectors left in the current bio_vec.</summary>
    public long CurrentNrSectors { get; internal set; }

    /// <summary>bio .. biotail: the bios it is made of, in sector order, linked by Bio.Next.</summary>
    public Bio? Bio { get; internal set; }

    public Bio? BioTail { get; internal set; }

    /// <summary>nr_phys_segments: the pieces the driver's scatter list needs.</summary>
    public int NrPhysSegments { get; internal set; }

    /// <summary>start_time: when it was made (simulated ns; 2.6.20 keeps jiffies).</summary>
    public long StartTime { get; internal set; }

    /// <summary>start_time in jiffies, as the disk statistics count it.</summary>
    public uint StartJiffies { get; internal set; }

    /// <summary>ref_count: the last put frees it.</summary>
    public int RefCount { get; internal set; }

    /// <summary>elevator_private: the elevator's own state for it.</summary>
    public object? ElevatorPrivate { get; set; }

    /// <summary>elevator_private2: a second word of it (CFQ keeps the cfq_queue here, the io context in the first).</summary>
    public object? ElevatorPrivate2 { get; set; }

    /// <summary>errors: the driver's error count for it (0 when it went well).</summary>
    public int Errors { get; internal set; }

    /// <summary>rq_disk: the disk it is for (its statistics are charged on completion).</summary>
    public Gendisk? Disk { get; internal set; }

    /// <summary>The fifo expiry an elevator gave it (deadline's rq_fifo_time), in jiffies.</summary>
    public uint FifoTime { get; internal set; }

    /// <summary>When the driver took it off the queue (simulated ns), for the service-time histogram.</summary>
    public long IssueTime { get; internal set; }

    /// <summary>The driver took it off the dispatch queue (it counts in in_flight).</summary>
    internal bool Dequeued { get; set; }

    /// <summary>Set by the driver's interrupt for its softirq: the bytes transferred and whether the rest failed.</summary>
    internal long DriverGoodBytes { get; set; }

    internal bool DriverFailed { get; set; }

    /// <summary>end_io: called by end_that_request_last instead of putting the request (blk_execute_rq's waiter).</summary>
    public Action<Request, int>? EndIo { get; set; }

    /// <summary>The end sector (rq_end_sector): one past the last.</summary>
    public long EndSector => Sector + NrSectors;

    internal Kernel.Mm.Slab.SlabObject SlabObj { get; set; } = Kernel.Mm.Slab.SlabObject.None;

    /// <summary>queuelist: on the dispatch queue or an elevator's own list (one at a time).</summary>
    internal LinkedListNode<Request> QueueNode { get; }

    /// <summary>The elevator whose private data it carries (REQ_ELVPRIV).</summary>
    internal Elevator? ElevatorOwner { get; set; }

    /// <summary>donelist: on a CPU's BLOCK_SOFTIRQ completion list.</summary>
    internal LinkedListNode<Request> DoneNode { get; }

    /// <summary>hash: on the elevator's back-merge hash.</summary>
    internal LinkedListNode<Request> HashNode { get; }

    /// <summary>rb_node: on an elevator's sort tree.</summary>
    internal SectorTree? RbTree;
    internal Request? RbLeft, RbRight, RbParent;
    internal uint RbPriority;

    /// <summary>blk_fs_request and rq_mergeable: a file-system request with no REQ_NOMERGE and not started.</summary>
    public bool Mergeable => (CmdFlags & (RequestFlags.REQ_NOMERGE | RequestFlags.REQ_STARTED | RequestFlags.REQ_HARDBARRIER | RequestFlags.REQ_SOFTBARRIER)) == 0;

    /// <summary>blk_sorted_rq: it went through the elevator's sort structures.</summary>
    public bool Sorted => (CmdFlags & RequestFlags.REQ_SORTED) != 0;

    /// <summary>Whether it is on the dispatch queue or an elevator list.</summary>
    public bool OnQueueList => QueueNode.List is not null;

    /// <summary>rq_init and init_request_from_bio's reset of a pooled request.</summary>
    internal void Init(RequestFlags flags, long now)
    {
        CmdFlags = flags;
        Sector = HardSector = 0;
        NrSectors = HardNrSectors = CurrentNrSectors = 0;
        Bio = BioTail = null;
        NrPhysSegments = 0;
        StartTime = now;
        IssueTime = 0;
        Dequeued = false;
        RefCount = 1;
        ElevatorPrivate = null;
        ElevatorPrivate2 = null;
        Errors = 0;
        Disk = null;
        FifoTime = 0;
        EndIo = null;
    }

    public override string ToString() => $"{(DataDir == 1 ? "W" : "R")} {Sector}+{NrSectors}";
}
