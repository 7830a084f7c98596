// Linux 2.6.20 block/as-iosched.c, the elevator hooks for requests: add (with the process's
// history and its FIFO deadline), activate and deactivate, merges, may_queue and exit.
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class AnticipatoryElevator
{
    public override void AddRequest(Request rq)
    {
        var arq = new AsRq { State = AsRqState.New, Ioc = CurrentIoContext() };
        rq.ElevatorPrivate = arq;
        int dir = IsSync(rq);
        if (arq.Ioc?.Aic is { } aic)
        {
            UpdateIohist(aic, rq);
            aic.NrQueued++;
        }
        AddRqRb(rq);
        rq.FifoTime = unchecked(Jiffies + _fifoExpire[dir]);
        _fifoList[dir].AddLast(rq.QueueNode);
        UpdateRq(rq);
        arq.State = AsRqState.Queued;
    }

    public override void ActivateRequest(Request rq)
    {
        var arq = Arq(rq);
        arq.State = AsRqState.Removed;
        if (arq.Ioc?.Aic is { } aic)
        {
            aic.NrDispatched--;
        }
    }

    public override void DeactivateRequest(Request rq)
    {
        var arq = Arq(rq);
        arq.State = AsRqState.Dispatched;
        if (arq.Ioc?.Aic is { } aic)
        {
            aic.NrDispatched++;
        }
    }

    public override bool QueueEmpty => _fifoList[0].Count == 0 && _fifoList[1].Count == 0;

    /// <summary>
    /// as_merge: a front merge through the sort tree. As in 2.6.20 the tree is chosen by the bio's
    /// direction (0 for a read) while the trees are kept by sync-ness (1 for a read), so a read
    /// looks in the async tree and finds nothing it may merge with; reads front-merge only through
    /// the generic last-merge cache.
    /// </summary>
    public override ElvMergeType Merge(Bio bio, out Request? rq) => FrontMergeIn(_sortList[bio.IsWrite ? 1 : 0], bio, out rq);

    public override void Merged(Request rq, ElvMergeType type)
    {
        if (type == ElvMergeType.FrontMerge)
        {
            _sortList[IsSync(rq)].Remove(rq);
            AddRqRb(rq);
        }
    }

    public override void MergeRequests(Request rq, Request nextRq)
    {
        if (rq.QueueNode.List is { } l && nextRq.QueueNode.List == l && Hz.TimeBefore(nextRq.FifoTime, rq.FifoTime))
        {
            l.Remove(rq.QueueNode);
            l.AddAfter(nextRq.QueueNode, rq.QueueNode);
            rq.FifoTime = nextRq.FifoTime;
            // Swap the contexts, so the one dropped below is the unused one.
            var a = Arq(rq);
            var b = Arq(nextRq);
            (a.Ioc, b.Ioc) = (b.Ioc, a.Ioc);
        }
        RemoveQueuedRequest(nextRq);
        PutIoContext(nextRq);
        Arq(nextRq).State = AsRqState.Merged;
    }

    public override Request? FormerRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Prev(rq);

    public override Request? LatterRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Next(rq);

    /// <summary>as_may_queue: the process being waited for may always allocate a request.</summary>
    public override ElvMayQueue MayQueue(int rw, bool sync)
    {
        if (AnticStatus is AnticStatus.WaitReq or AnticStatus.WaitNext && CurrentIoContext() is { } ioc && ioc == _ioContext)
        {
            return ElvMayQueue.Must;
        }
        return ElvMayQueue.May;
    }

    public override void ExitQueue()
    {
        _anticTimer.Del(Q.Machine);
        if (!QueueEmpty)
        {
            throw new Kernel.Core.KernelBug($"anticipatory: exit with {Queued} requests queued");
        }
        _ioContext = null;
    }
}
