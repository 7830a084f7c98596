// Linux 2.6.20 block/noop-iosched.c: a FIFO. Requests leave in arrival order, each placed on the
// dispatch queue by elv_dispatch_sort (so the dispatch queue itself is kept in a one-way sweep
// from the head position); merging still happens through the generic last-merge cache and
// back-merge hash, and two requests a merge made contiguous are joined.
namespace Kernel.Block;

public sealed class NoopElevator : Elevator
{
    private readonly LinkedList<Request> _queue = new();

    public override string Name => "noop";

    public override int Queued => _queue.Count;

    public override IEnumerable<Request> QueuedRequests => _queue;

    public override void MergeRequests(Request rq, Request nextRq) => _queue.Remove(nextRq.QueueNode);

    public override bool Dispatch(bool force)
    {
        if (_queue.First is not { } first)
        {
            return false;
        }
        _queue.Remove(first);
        Q.ElvDispatchSort(first.Value);
        return true;
    }

    public override void AddRequest(Request rq) => _queue.AddLast(rq.QueueNode);

    public override bool QueueEmpty => _queue.Count == 0;

    public override Request? FormerRequest(Request rq) => rq.QueueNode.List == _queue ? rq.QueueNode.Previous?.Value : null;

    public override Request? LatterRequest(Request rq) => rq.QueueNode.List == _queue ? rq.QueueNode.Next?.Value : null;

    public override void ExitQueue()
    {
        if (_queue.Count != 0)
        {
            throw new Kernel.Core.KernelBug($"noop: exit with {_queue.Count} requests queued");
        }
    }
}
