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
}

public sealed class Request
{
    internal Request(RequestQueue q)
    {
        Q = q;
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

    /// <summary>ref_count: the last put frees it.</summary>
    public int RefCount { get; internal set; }

    /// <summary>elevator_private: the elevator's own state for it.</summary>
    public object? ElevatorPrivate { get; set; }

    /// <summary>The end sector (rq_end_sector): one past the last.</summary>
    public long EndSector => Sector + NrSectors;

    internal Kernel.Mm.Slab.SlabObject SlabObj { get; set; } = Kernel.Mm.Slab.SlabObject.None;

    /// <summary>rq_init and init_request_from_bio's reset of a pooled request.</summary>
    internal void Init(RequestFlags flags, long now)
    {
        CmdFlags = flags;
        Sector = HardSector = 0;
        NrSectors = HardNrSectors = CurrentNrSectors = 0;
        Bio = BioTail = null;
        NrPhysSegments = 0;
        StartTime = now;
        RefCount = 1;
        ElevatorPrivate = null;
    }

    public override string ToString() => $"{(DataDir == 1 ? "W" : "R")} {Sector}+{NrSectors}";
}
