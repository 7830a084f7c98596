// Linux 2.6.20 block/ll_rw_blk.c, completion: __end_that_request_first ends bytes from the front of
// a request, bio by bio (bio_endio for each whole bio, and for the part of a bio a partial
// completion reached, with the bio_vec cursor moved inside it), and moves the request's sector
// cursors on; end_that_request_last accounts the finished request in the disk statistics and
// frees it (or calls its end_io). blk_complete_request defers the finishing to BLOCK_SOFTIRQ on
// this CPU, as a SCSI driver's interrupt handler does.
using Kernel.Core;

namespace Kernel.Block;

public sealed partial class RequestQueue
{
    /// <summary>
    /// end_that_request_chunk: `nrBytes` of `req` are done with `error` (0, or -errno; a driver's
    /// "uptodate = 0" is -EIO). True while bytes of the request remain.
    /// </summary>
    public bool EndThatRequestChunk(Request req, int error, int nrBytes)
    {
        ArgumentNullException.ThrowIfNull(req);
        ArgumentOutOfRangeException.ThrowIfNegative(nrBytes);
        if (error > 0)
        {
            throw new ArgumentOutOfRangeException(nameof(error), error, "an error is 0 or -errno");
        }
        Trace(BlockAction.Complete, req);
        if (error != 0)
        {
            req.Errors++;
            if ((req.CmdFlags & RequestFlags.REQ_QUIET) == 0)
            {
                Block.Printk($"end_request: I/O error, dev {Name}, sector {req.Sector}");
            }
        }
        if (Disk is { } d)
        {
            d.Stats.Sectors[req.DataDir] += nrBytes >> Bio.SECTOR_SHIFT;
        }
        int totalBytes = 0, bioNbytes = 0, nextIdx = 0;
        Bio? bio;
        while ((bio = req.Bio) is not null)
        {
            int nbytes;
            if (nrBytes >= bio.Size)
            {
                req.Bio = bio.Next;
                nbytes = bio.Size;
                bio.Next = null;
                bio.Endio(nbytes, error);
                nextIdx = 0;
                bioNbytes = 0;
            }
            else
            {
                int idx = bio.Idx + nextIdx;
                if (idx >= bio.Vcnt)
                {
                    throw new KernelBug($"__end_that_request_first: bio idx {idx} >= vcnt {bio.Vcnt} ({req})");
                }
                nbytes = bio.IoVec[idx].Len;
                if (nbytes > nrBytes)
                {
                    // Not a whole bio_vec: what was done of it is counted below.
                    bioNbytes += nrBytes;
                    totalBytes += nrBytes;
                    break;
                }
                nextIdx++;
                bioNbytes += nbytes;
            }
            totalBytes += nbytes;
            nrBytes -= nbytes;
            if (req.Bio is not null && nrBytes <= 0)
            {
                break;
            }
        }
        if (req.Bio is null)
        {
            req.BioTail = null;
            return false;
        }
        if (bioNbytes != 0)
        {
            bio = req.Bio;
            bio.Endio(bioNbytes, error);
            bio.Idx += nextIdx;
            if (nrBytes > 0 && bio.Idx < bio.Vcnt)
            {
                var v = bio.IoVec[bio.Idx];
                bio.IoVec[bio.Idx] = v with { Offset = v.Offset + nrBytes, Len = v.Len - nrBytes };
            }
            bio.Flags &= ~BioFlags.BIO_SEG_VALID;
        }
        RecalcRqSectors(req, totalBytes >> Bio.SECTOR_SHIFT);
        RecalcRqSegments(req);
        return true;
    }

    /// <summary>end_that_request_first: the same in sectors.</summary>
    public bool EndThatRequestFirst(Request req, int error, int nrSectors) => EndThatRequestChunk(req, error, nrSectors << Bio.SECTOR_SHIFT);

    /// <summary>blk_recalc_rq_sectors: the completion cursor moves on; the submission cursor follows if it was behind.</summary>
    private static void RecalcRqSectors(Request rq, long nsect)
    {
        rq.HardSector += nsect;
        rq.HardNrSectors -= nsect;
        if (rq.NrSectors >= rq.HardNrSectors && rq.Sector <= rq.HardSector)
        {
            rq.Sector = rq.HardSector;
            rq.NrSectors = rq.HardNrSectors;
            rq.CurrentNrSectors = rq.Bio!.CurSectors;
        }
        if (rq.NrSectors < rq.CurrentNrSectors)
        {
            rq.NrSectors = rq.CurrentNrSectors; // "blk: request botched"
        }
    }

    /// <summary>blk_recalc_rq_segments.</summary>
    private void RecalcRqSegments(Request rq)
    {
        int segs = 0;
        for (var b = rq.Bio; b is not null; b = b.Next)
        {
            b.Flags &= ~BioFlags.BIO_SEG_VALID;
            segs += BioPhysSegments(b);
        }
        rq.NrPhysSegments = segs;
    }

    /// <summary>
    /// end_that_request_last: the request is finished. The disk counts it (ios, ticks, in_flight),
    /// then its end_io runs or it is put.
    /// </summary>
    public void EndThatRequestLast(Request req, int error)
    {
        ArgumentNullException.ThrowIfNull(req);
        if (Disk is { } d)
        {
            int rw = req.DataDir;
            d.Stats.Ios[rw]++;
            d.Stats.Ticks[rw] += unchecked(Machine.Jiffies - req.StartJiffies);
            d.RoundStats();
            d.InFlight--;
            d.RecordLatency(rw, Machine.Now - req.StartTime);
        }
        if (req.EndIo is { } endIo)
        {
            endIo(req, error);
        }
        else
        {
            PutRequest(req);
        }
    }

    /// <summary>end_request: finish the current bio_vec's sectors; if that was the last, dequeue and finish the request.</summary>
    public void EndRequest(Request req, bool uptodate)
    {
        ArgumentNullException.ThrowIfNull(req);
        int error = uptodate ? 0 : (int)Errno.EIO.Ret();
        if (!EndThatRequestFirst(req, error, (int)req.CurrentNrSectors))
        {
            if (req.OnQueueList)
            {
                BlkdevDequeueRequest(req);
            }
            EndThatRequestLast(req, error);
        }
    }

    /// <summary>blk_complete_request: finish `req` from BLOCK_SOFTIRQ on this CPU (softirq_done_fn).</summary>
    public void BlkCompleteRequest(Request req)
    {
        ArgumentNullException.ThrowIfNull(req);
        if (SoftirqDoneFn is null)
        {
            throw new KernelBug($"blk_complete_request: {Name} has no softirq_done_fn");
        }
        Block.QueueDone(req);
    }
}
