// Linux 2.6.20 has every submitter sleep in get_request_wait when its queue is out of requests.
// This library's synchronous memory paths (a_ops->readpage and ->writepage from a fault or from
// reclaim's synchronous sections) and the host side cannot sleep there, so their bios wait on the
// queue's backlog instead, and kblockd queues them, in order, as requests are freed. While it does,
// the queue's Submitter is the task that submitted the bio, so CFQ and AS charge it to that process.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;

namespace Kernel.Block;

public sealed partial class RequestQueue
{
    private readonly Queue<(Bio Bio, TaskStruct Task)> _backlog = new();
    private Action? _drainBacklog;
    private TaskStruct? _submitter;

    /// <summary>
    /// The task the queue works for now (`current` in get_request and the elevators' hooks): the
    /// running task, or, while kblockd queues a backlogged bio, the task that submitted it, so
    /// that CFQ and AS charge the bio to its process and not to kblockd.
    /// </summary>
    public TaskStruct Submitter => _submitter ?? Machine.ThisCpu.Curr;

    private void Backlog(Bio bio) => _backlog.Enqueue((bio, Submitter));

    /// <summary>Bios submitted by a path that cannot sleep, waiting for a free request.</summary>
    public int BacklogCount => _backlog.Count;

    /// <summary>
    /// submit_bio for a caller that must not sleep (a_ops->readpage and ->writepage from a fault or
    /// reclaim's synchronous sections). It merges or queues the bio like __make_request; when no
    /// request is free it keeps the bio on the queue's backlog, and kblockd queues it once a request
    /// is freed. Deviation: 2.6.20 sleeps in get_request_wait there; this library's synchronous
    /// memory paths cannot, so the bio waits instead of the task (it still waits for its page).
    /// </summary>
    public void SubmitBioNoWait(BioRw rw, Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        bio.Rw |= rw;
        CountPgpg(bio);
        if (CheckBio(bio))
        {
            TryMakeRequestNoWait(bio);
        }
    }

    private void TryMakeRequestNoWait(Bio orig, bool fromBacklog = false)
    {
        var m = Machine;
        var bio = TryBounce(orig);
        if (bio is null)
        {
            Backlog(orig); // no bounce pages now: kblockd tries again after a free
            return;
        }
        bool sync = (bio.Rw & BioRw.BIO_RW_SYNC) != 0;
        m.ChargeLock(QueueLock, m.ThisCpu, Block.Costs.MergeNs);
        if ((bio.Rw & BioRw.BIO_RW_BARRIER) == 0 && !ElvQueueEmpty && TryMerge(bio))
        {
            if (sync)
            {
                GenericUnplugDevice();
            }
            return;
        }
        // A new bio does not overtake the backlog; a bio taken from its head may have the request.
        var rq = fromBacklog || _backlog.Count == 0 ? GetRequest(bio.IsWrite ? 1 : 0, Gfp.GFP_NOIO, sync) : null;
        if (rq is null)
        {
            Backlog(bio);
            GenericUnplugDevice();
            return;
        }
        AddNewRequest(rq, bio, sync);
    }

    /// <summary>kblockd's work: queue backlogged bios while requests are free.</summary>
    private void DrainBacklog()
    {
        // At most one pass: a bio that goes back (no bounce pages yet) waits for the next free.
        for (int n = _backlog.Count; n > 0 && _backlog.TryPeek(out var entry); n--)
        {
            var bio = entry.Bio;
            int rw = bio.IsWrite ? 1 : 0;
            if (IsFull(rw) || Count[rw] >= NrRequests)
            {
                return;
            }
            _backlog.Dequeue();
            _submitter = entry.Task;
            try
            {
                TryMakeRequestNoWait(bio, fromBacklog: true);
            }
            finally
            {
                _submitter = null;
            }
        }
    }

    /// <summary>A request was freed: backlogged bios get their turn (from kblockd, in process context).</summary>
    private void KickBacklog()
    {
        if (_backlog.Count > 0)
        {
            Block.Kblockd.ScheduleWork(_drainBacklog ??= DrainBacklog);
        }
    }
}
