// Linux 2.6.20 block/ll_rw_blk.c, the submission path: submit_bio -> generic_make_request (the
// device size and max_hw_sectors checks, then the queue's make_request_fn) -> __make_request,
// which under the queue lock tries to merge the bio into a request at its back or front (within
// max_sectors and the segment limits, then joining two requests the merge made contiguous), and
// otherwise gets a new request (maybe sleeping for one), fills it from the bio and adds it to the
// elevator, plugging an empty queue first. A sync bio unplugs at once.
//
// Segments: on i386 BIO_VMERGE_BOUNDARY is 0, so hardware segments are physical segments; one
// count (nr_phys_segments) is checked against both max_phys_segments and max_hw_segments.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;

namespace Kernel.Block;

public sealed partial class RequestQueue
{
    /// <summary>SAFE_MAX_SECTORS: blk_queue_make_request's default max_sectors.</summary>
    public const int SAFE_MAX_SECTORS = 255;

    /// <summary>BLK_DEF_MAX_SECTORS: max_sectors never starts above this, whatever the hardware takes.</summary>
    public const int BLK_DEF_MAX_SECTORS = 1024;

    public const int MAX_PHYS_SEGMENTS = 128;

    public const int MAX_HW_SEGMENTS = 128;

    /// <summary>MAX_SEGMENT_SIZE: 64 KB.</summary>
    public const int MAX_SEGMENT_SIZE = 65536;

    /// <summary>max_sectors: the largest request the elevator builds (/sys/block/DEV/queue/max_sectors_kb).</summary>
    public int MaxSectors { get; private set; } = SAFE_MAX_SECTORS;

    /// <summary>max_hw_sectors: the largest the hardware takes; a bigger bio fails with EIO.</summary>
    public int MaxHwSectors { get; private set; } = SAFE_MAX_SECTORS;

    public int MaxPhysSegments { get; private set; } = MAX_PHYS_SEGMENTS;

    public int MaxHwSegments { get; private set; } = MAX_HW_SEGMENTS;

    public int MaxSegmentSize { get; private set; } = MAX_SEGMENT_SIZE;

    /// <summary>hardsect_size: the device's sector size (512).</summary>
    public int HardsectSize { get; private set; } = 512;

    /// <summary>dma_alignment: O_DIRECT buffers must be aligned to this mask + 1 (511: 512 bytes).</summary>
    public int DmaAlignment { get; set; } = 511;

    /// <summary>bounce_pfn: pages at or above this frame cannot be reached by the device's DMA and are bounced.</summary>
    public int BouncePfn { get; internal set; } = int.MaxValue;

    /// <summary>make_request_fn: the queue's entry for bios; null is __make_request (a RAM disk sets its own).</summary>
    public Func<RequestQueue, Bio, ValueTask>? MakeRequestFn { get; set; }

    /// <summary>blk_queue_max_sectors: at least one page; max_sectors is capped at BLK_DEF_MAX_SECTORS, max_hw_sectors is not.</summary>
    public void SetMaxSectors(int maxSectors)
    {
        if (maxSectors << Bio.SECTOR_SHIFT < MemoryLayout.PAGE_SIZE)
        {
            maxSectors = MemoryLayout.PAGE_SIZE >> Bio.SECTOR_SHIFT;
        }
        MaxHwSectors = maxSectors;
        MaxSectors = Math.Min(maxSectors, BLK_DEF_MAX_SECTORS);
    }

    /// <summary>blk_queue_max_phys_segments and blk_queue_max_hw_segments (at least 1).</summary>
    public void SetMaxSegments(int phys, int hw)
    {
        MaxPhysSegments = Math.Max(1, phys);
        MaxHwSegments = Math.Max(1, hw);
    }

    /// <summary>blk_queue_max_segment_size: at least a page.</summary>
    public void SetMaxSegmentSize(int bytes) => MaxSegmentSize = Math.Max(MemoryLayout.PAGE_SIZE, bytes);

    /// <summary>blk_queue_hardsect_size.</summary>
    public void SetHardsectSize(int bytes)
    {
        if (bytes < 512 || bytes > MemoryLayout.PAGE_SIZE || (bytes & (bytes - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "a sector size is a power of two from 512 to a page");
        }
        HardsectSize = bytes;
    }

    /// <summary>The max_sectors_kb store: at most max_hw_sectors, at least a page; -EINVAL otherwise.</summary>
    internal long StoreMaxSectorsKb(long kb)
    {
        long sectors = kb << 1;
        if (sectors > MaxHwSectors || kb < MemoryLayout.PAGE_SIZE >> 10)
        {
            return Errno.EINVAL.Ret();
        }
        MaxSectors = (int)sectors;
        return 0;
    }

    /// <summary>
    /// bio_add_page: add `len` bytes of frame `pfn` from `offset` to `bio` within this queue's
    /// limits: max_sectors, the bio's vectors, and max_phys_segments and max_hw_segments (a piece
    /// that continues the last one in its frame adds no segment). Returns `len`, or 0 when it does
    /// not fit and the caller must submit the bio and start another (how 2.6.20 keeps bios within
    /// a device's limits; generic_make_request refuses a bigger one).
    /// </summary>
    public int BioAddPage(Bio bio, int pfn, int len, int offset)
    {
        ArgumentNullException.ThrowIfNull(bio);
        if (((long)bio.Size + len) >> Bio.SECTOR_SHIFT > MaxSectors)
        {
            return 0;
        }
        if (bio.Vcnt > 0 && bio.IoVec[bio.Vcnt - 1] is var last && last.Pfn == pfn && last.Offset + last.Len == offset)
        {
            return bio.AddPage(pfn, len, offset);
        }
        if (bio.Vcnt > 0 && BioPhysSegments(bio) >= Math.Min(MaxPhysSegments, MaxHwSegments))
        {
            return 0;
        }
        return bio.AddPage(pfn, len, offset);
    }

    /// <summary>bio_phys_segments: blk_recount_segments when the count is stale.</summary>
    internal int BioPhysSegments(Bio bio)
    {
        if ((bio.Flags & BioFlags.BIO_SEG_VALID) == 0)
        {
            RecountSegments(bio);
        }
        return bio.PhysSegments;
    }

    /// <summary>
    /// blk_recount_segments (clustering on): adjacent pieces that are physically contiguous share
    /// a segment up to max_segment_size, never across a 4 GB boundary, and a page the device
    /// must have bounced always starts its own.
    /// </summary>
    private void RecountSegments(Bio bio)
    {
        int segs = 0;
        long segSize = 0;
        bool highPrev = true;
        BioVec prev = default;
        for (int i = bio.Idx; i < bio.Vcnt; i++)
        {
            var bv = bio.IoVec[i];
            bool high = bv.Pfn >= BouncePfn;
            if (!high && !highPrev && segSize + bv.Len <= MaxSegmentSize && PhysMergeable(prev, bv))
            {
                segSize += bv.Len;
                prev = bv;
                continue;
            }
            segs++;
            segSize = bv.Len;
            prev = bv;
            highPrev = high;
        }
        bio.PhysSegments = segs;
        bio.Flags |= BioFlags.BIO_SEG_VALID;
    }

    /// <summary>BIOVEC_PHYS_MERGEABLE and BIOVEC_SEG_BOUNDARY (mask 0xffffffff).</summary>
    private static bool PhysMergeable(BioVec a, BioVec b)
    {
        long endA = ((long)a.Pfn << MemoryLayout.PAGE_SHIFT) + a.Offset + a.Len;
        long startB = ((long)b.Pfn << MemoryLayout.PAGE_SHIFT) + b.Offset;
        long startA = ((long)a.Pfn << MemoryLayout.PAGE_SHIFT) + a.Offset;
        return endA == startB && (startA | 0xffffffffL) == ((startB + b.Len - 1) | 0xffffffffL);
    }

    private bool RefuseMerge(Request req)
    {
        req.CmdFlags |= RequestFlags.REQ_NOMERGE;
        if (req == LastMerge)
        {
            LastMerge = null;
        }
        return false;
    }

    /// <summary>ll_back_merge_fn and ll_front_merge_fn: the merged request stays within max_sectors and the segment limits.</summary>
    private bool LlMergeFn(Request req, Bio bio)
    {
        if (req.NrSectors + bio.Sectors > MaxSectors)
        {
            return RefuseMerge(req);
        }
        int segs = BioPhysSegments(bio);
        if (req.NrPhysSegments + segs > Math.Min(MaxPhysSegments, MaxHwSegments))
        {
            return RefuseMerge(req);
        }
        req.NrPhysSegments += segs;
        return true;
    }

    /// <summary>ll_merge_requests_fn: two requests fit in one, counting a segment that now spans them once.</summary>
    private bool LlMergeRequestsFn(Request req, Request next)
    {
        if (req.NrSectors + next.NrSectors > MaxSectors)
        {
            return false;
        }
        int total = req.NrPhysSegments + next.NrPhysSegments;
        var tail = req.BioTail!;
        var head = next.Bio!;
        if (tail.Vcnt > 0 && head.Vcnt > head.Idx)
        {
            var a = tail.IoVec[tail.Vcnt - 1];
            var b = head.IoVec[head.Idx];
            if (a.Pfn < BouncePfn && b.Pfn < BouncePfn && PhysMergeable(a, b) && a.Len + b.Len <= MaxSegmentSize)
            {
                total--;
            }
        }
        if (total > Math.Min(MaxPhysSegments, MaxHwSegments))
        {
            return false;
        }
        req.NrPhysSegments = total;
        return true;
    }

    /// <summary>attempt_merge: join `next` onto the end of `req` if they are contiguous and compatible.</summary>
    private bool AttemptMerge(Request req, Request next)
    {
        if (!req.Mergeable || !next.Mergeable || req.EndSector != next.Sector || req.DataDir != next.DataDir || req.Disk != next.Disk)
        {
            return false;
        }
        if (!LlMergeRequestsFn(req, next))
        {
            return false;
        }
        if (req.StartTime > next.StartTime)
        {
            req.StartTime = next.StartTime;
            req.StartJiffies = next.StartJiffies;
        }
        req.BioTail!.Next = next.Bio;
        req.BioTail = next.BioTail;
        req.HardNrSectors += next.HardNrSectors;
        req.NrSectors = req.HardNrSectors;
        ElvMergeRequests(req, next);
        Disk?.RoundStats();
        if (Disk is not null)
        {
            Disk.InFlight--;
        }
        next.Bio = next.BioTail = null;
        RequestsMerged++;
        PutRequest(next);
        return true;
    }

    /// <summary>Requests absorbed by attempt_merge (two requests a bio made contiguous).</summary>
    public long RequestsMerged { get; private set; }

    private bool AttemptBackMerge(Request rq) => Elevator.LatterRequest(rq) is { } next && AttemptMerge(rq, next);

    private bool AttemptFrontMerge(Request rq) => Elevator.FormerRequest(rq) is { } prev && AttemptMerge(prev, rq);

    /// <summary>init_request_from_bio.</summary>
    private void InitRequestFromBio(Request req, Bio bio)
    {
        if ((bio.Rw & (BioRw.BIO_RW_AHEAD | BioRw.BIO_RW_FAILFAST)) != 0)
        {
            req.CmdFlags |= RequestFlags.REQ_FAILFAST;
        }
        if ((bio.Rw & BioRw.BIO_RW_BARRIER) != 0)
        {
            req.CmdFlags |= RequestFlags.REQ_HARDBARRIER | RequestFlags.REQ_NOMERGE;
        }
        if ((bio.Rw & BioRw.BIO_RW_SYNC) != 0)
        {
            req.CmdFlags |= RequestFlags.REQ_RW_SYNC;
        }
        if ((bio.Rw & BioRw.BIO_RW_META) != 0)
        {
            req.CmdFlags |= RequestFlags.REQ_RW_META;
        }
        req.Errors = 0;
        req.HardSector = req.Sector = bio.Sector;
        req.HardNrSectors = req.NrSectors = bio.Sectors;
        req.CurrentNrSectors = bio.CurSectors;
        req.NrPhysSegments = BioPhysSegments(bio);
        req.Bio = req.BioTail = bio;
        req.Disk = Disk;
        req.StartTime = Machine.Now;
        req.StartJiffies = Machine.Jiffies;
    }

    /// <summary>drive_stat_acct: a new request counts in the disk's in_flight; a merge counts in merges[rw].</summary>
    private void DriveStatAcct(Request rq, bool newIo)
    {
        if (Disk is not { } d)
        {
            return;
        }
        if (!newIo)
        {
            d.Stats.Merges[rq.DataDir]++;
        }
        else
        {
            d.RoundStats();
            d.InFlight++;
        }
    }

    /// <summary>
    /// __make_request: merge `bio` into a queued request or queue a new one. Completes without a
    /// wait unless the task must sleep for a free request (from the host side, which cannot sleep,
    /// the bio waits on the backlog instead). A barrier without ordered-write support ends at once
    /// with -EOPNOTSUPP.
    /// </summary>
    public ValueTask MakeRequest(Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        var m = Machine;
        bool barrier = (bio.Rw & BioRw.BIO_RW_BARRIER) != 0;
        bool sync = (bio.Rw & BioRw.BIO_RW_SYNC) != 0;
        if (barrier && !OrderedWrites)
        {
            bio.Endio(bio.Size, (int)Errno.EOPNOTSUPP.Ret());
            return default;
        }
        if (m.Executing is null)
        {
            // Host-side code (a test, a harness) cannot sleep for a request or bounce pages: the
            // no-wait path queues the bio, or keeps it on the backlog.
            TryMakeRequestNoWait(bio);
            return default;
        }
        // blk_queue_bounce: pages the device cannot reach go through lowmem copies.
        var bounced = TryBounce(bio);
        if (bounced is null)
        {
            return MakeRequestBounceSlow(bio);
        }
        bio = bounced;
        m.ChargeLock(QueueLock, m.ThisCpu, Block.Costs.MergeNs);
        if (!barrier && !ElvQueueEmpty && TryMerge(bio))
        {
            if (sync)
            {
                GenericUnplugDevice();
            }
            return default;
        }
        int rw = bio.IsWrite ? 1 : 0;
        var got = GetRequestWait(rw, sync);
        if (got.IsCompletedSuccessfully)
        {
            AddNewRequest(got.Result, bio, sync);
            return default;
        }
        return MakeRequestSlow(got, bio, sync);
    }

    private async ValueTask MakeRequestBounceSlow(Bio bio) => await MakeRequest(await BounceSleeping(bio));

    private async ValueTask MakeRequestSlow(ValueTask<Request> got, Bio bio, bool sync) => AddNewRequest(await got, bio, sync);

    /// <summary>The merge half of __make_request: true if the bio joined a request.</summary>
    private bool TryMerge(Bio bio)
    {
        var elRet = ElvMerge(bio, out var req);
        long nr = bio.Sectors;
        switch (elRet)
        {
            case ElvMergeType.BackMerge:
                if (!LlMergeFn(req!, bio))
                {
                    return false;
                }
                Trace(BlockAction.BackMerge, bio);
                req!.BioTail!.Next = bio;
                req.BioTail = bio;
                req.HardNrSectors += nr;
                req.NrSectors = req.HardNrSectors;
                DriveStatAcct(req, newIo: false);
                BackMerges++;
                if (!AttemptBackMerge(req))
                {
                    ElvMergedRequest(req, elRet);
                }
                return true;
            case ElvMergeType.FrontMerge:
                if (!LlMergeFn(req!, bio))
                {
                    return false;
                }
                Trace(BlockAction.FrontMerge, bio);
                bio.Next = req!.Bio;
                req.Bio = bio;
                req.CurrentNrSectors = bio.CurSectors;
                req.Sector = req.HardSector = bio.Sector;
                req.HardNrSectors += nr;
                req.NrSectors = req.HardNrSectors;
                DriveStatAcct(req, newIo: false);
                FrontMerges++;
                if (!AttemptFrontMerge(req))
                {
                    ElvMergedRequest(req, elRet);
                }
                return true;
            default:
                return false;
        }
    }

    /// <summary>Bios merged at the back and at the front of a request.</summary>
    public long BackMerges { get; private set; }

    public long FrontMerges { get; private set; }

    /// <summary>The get_rq half of __make_request, after a request was got.</summary>
    private void AddNewRequest(Request req, Bio bio, bool sync)
    {
        var m = Machine;
        InitRequestFromBio(req, bio);
        m.ChargeLock(QueueLock, m.ThisCpu, Block.Costs.AddRequestNs);
        if (ElvQueueEmpty)
        {
            PlugDevice();
        }
        DriveStatAcct(req, newIo: true);
        ElvAddRequest(req, ElvWhere.Sort, plug: false);
        if (sync)
        {
            GenericUnplugDevice();
        }
    }

    /// <summary>Whether the queue takes barrier bios (q->next_ordered != QUEUE_ORDERED_NONE); off, as for a disk without a cache flush.</summary>
    public bool OrderedWrites { get; set; }

    /// <summary>
    /// generic_make_request: a bio past the end of the device, or bigger than max_hw_sectors, or
    /// on a dead queue, ends at once with -EIO; otherwise the
    /// queue's make_request_fn takes it.
    /// </summary>
    public ValueTask GenericMakeRequest(Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        if (!CheckBio(bio))
        {
            return default;
        }
        return MakeRequestFn is { } fn ? fn(this, bio) : MakeRequest(bio);
    }

    /// <summary>generic_make_request's checks: false when the bio was ended with -EIO.</summary>
    private bool CheckBio(Bio bio)
    {
        if (bio.Size == 0 || bio.Vcnt == 0)
        {
            throw new KernelBug($"generic_make_request: an empty bio (sector {bio.Sector}) on {Name}");
        }
        long nr = bio.Sectors;
        long maxSector = Disk?.Capacity ?? 0;
        if (maxSector != 0 && (maxSector < nr || maxSector - nr < bio.Sector))
        {
            // handle_bad_sector
            Block.Printk($"attempt to access beyond end of device\n{Name}: rw={(int)bio.Rw}, want={bio.Sector + nr}, limit={maxSector}");
            bio.Endio(bio.Size, (int)Errno.EIO.Ret());
            return false;
        }
        if (nr > MaxHwSectors)
        {
            Block.Printk($"bio too big device {Name} ({nr} > {MaxHwSectors})");
            bio.Endio(bio.Size, (int)Errno.EIO.Ret());
            return false;
        }
        if (Dead)
        {
            bio.Endio(bio.Size, (int)Errno.EIO.Ret());
            return false;
        }
        Trace(BlockAction.Queue, bio);
        return true;
    }

    /// <summary>QUEUE_FLAG_DEAD: the queue was cleaned up; every bio fails.</summary>
    public bool Dead { get; internal set; }

    /// <summary>submit_bio: set the direction, count the page-in/page-out sectors, and hand the bio on.</summary>
    public ValueTask SubmitBio(BioRw rw, Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        bio.Rw |= rw;
        CountPgpg(bio);
        return GenericMakeRequest(bio);
    }

    /// <summary>count_vm_events(PGPGOUT or PGPGIN, bio_sectors(bio)), as submit_bio does.</summary>
    private void CountPgpg(Bio bio)
    {
        if (bio.IsWrite)
        {
            Block.PgpgOut += bio.Sectors;
        }
        else
        {
            Block.PgpgIn += bio.Sectors;
        }
    }
}
