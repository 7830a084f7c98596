// Linux 2.6.20 block/deadline-iosched.c. Each direction has a sort tree (by start sector) and a
// FIFO (by arrival, each request stamped with jiffies + fifo_expire[dir]). Dispatch serves
// batches: up to fifo_batch requests in ascending sector order from where the head is
// (last_sector), ending early at a non-sequential request. A new batch picks a direction (reads,
// unless writes have waited writes_starved read batches) and starts at that direction's FIFO
// head if it has expired, else continues the sweep from next_rq, else wraps to the lowest sector.
// Front merges look the tree up for a request starting where the bio ends.
namespace Kernel.Block;

public sealed class DeadlineElevator : Elevator
{
    /// <summary>read_expire: HZ / 2 (500 ms).</summary>
    public const int DefaultReadExpireMs = 500;

    /// <summary>write_expire: 5 * HZ (5 s).</summary>
    public const int DefaultWriteExpireMs = 5000;

    public const int DefaultWritesStarved = 2;

    public const int DefaultFifoBatch = 16;

    private const int READ = 0, WRITE = 1;

    private readonly SectorTree[] _sortList = [new(), new()];
    private readonly LinkedList<Request>[] _fifoList = [new(), new()];
    private readonly Request?[] _nextRq = new Request?[2];
    private readonly int[] _fifoExpire = new int[2];
    private IReadOnlyList<ElvAttribute>? _attrs;

    public override string Name => "deadline";

    /// <summary>fifo_expire[READ], in jiffies (the attribute shows milliseconds).</summary>
    public int ReadExpireJiffies => _fifoExpire[READ];

    public int WriteExpireJiffies => _fifoExpire[WRITE];

    /// <summary>batching: requests dispatched in the current batch.</summary>
    public int Batching { get; private set; }

    /// <summary>last_sector: where the last dispatched request ended (the head position).</summary>
    public long LastSector { get; private set; }

    /// <summary>starved: read batches chosen while writes waited.</summary>
    public int Starved { get; private set; }

    public int FifoBatch { get; private set; } = DefaultFifoBatch;

    public int WritesStarved { get; private set; } = DefaultWritesStarved;

    public bool FrontMerges { get; private set; } = true;

    /// <summary>next_rq[dir]: the next request in sector order after the last dispatched one.</summary>
    public Request? NextRq(int dir) => _nextRq[dir];

    /// <summary>The requests of one direction in sector order and in FIFO order (for renderers and tests).</summary>
    public IEnumerable<Request> SortOrder(int dir) => _sortList[dir].InOrder();

    public IEnumerable<Request> FifoOrder(int dir) => _fifoList[dir];

    public override int Queued => _fifoList[READ].Count + _fifoList[WRITE].Count;

    public override IEnumerable<Request> QueuedRequests => _fifoList[READ].Concat(_fifoList[WRITE]);

    protected internal override void Init()
    {
        var hz = Q.Machine.Hz;
        _fifoExpire[READ] = (int)hz.MsecsToJiffies(DefaultReadExpireMs);
        _fifoExpire[WRITE] = (int)hz.MsecsToJiffies(DefaultWriteExpireMs);
    }

    /// <summary>deadline_add_rq_rb: an alias (same start sector) goes straight to dispatch.</summary>
    private void AddRqRb(Request rq)
    {
        while (_sortList[rq.DataDir].Add(rq) is { } alias)
        {
            MoveRequest(alias);
        }
    }

    private void DelRqRb(Request rq)
    {
        int dir = rq.DataDir;
        if (_nextRq[dir] == rq)
        {
            _nextRq[dir] = SectorTree.Next(rq);
        }
        _sortList[dir].Remove(rq);
    }

    public override void AddRequest(Request rq)
    {
        int dir = rq.DataDir;
        AddRqRb(rq);
        rq.FifoTime = unchecked(Q.Machine.Jiffies + (uint)_fifoExpire[dir]);
        _fifoList[dir].AddLast(rq.QueueNode);
    }

    /// <summary>deadline_remove_request: off the FIFO and the tree.</summary>
    private void RemoveRequest(Request rq)
    {
        if (rq.QueueNode.List is { } l)
        {
            l.Remove(rq.QueueNode);
        }
        DelRqRb(rq);
    }

    public override ElvMergeType Merge(Bio bio, out Request? rq)
    {
        rq = null;
        if (!FrontMerges)
        {
            return ElvMergeType.NoMerge;
        }
        return FrontMergeIn(_sortList[bio.IsWrite ? WRITE : READ], bio, out rq);
    }

    public override void Merged(Request rq, ElvMergeType type)
    {
        if (type == ElvMergeType.FrontMerge)
        {
            // The start sector moved: reposition it in the tree.
            _sortList[rq.DataDir].Remove(rq);
            AddRqRb(rq);
        }
    }

    public override void MergeRequests(Request rq, Request nextRq)
    {
        // The survivor takes over the earlier deadline and the absorbed one's FIFO place.
        if (rq.QueueNode.List is { } l && nextRq.QueueNode.List == l && Kernel.Core.Time.Hz.TimeBefore(nextRq.FifoTime, rq.FifoTime))
        {
            l.Remove(rq.QueueNode);
            l.AddAfter(nextRq.QueueNode, rq.QueueNode);
            rq.FifoTime = nextRq.FifoTime;
        }
        RemoveRequest(nextRq);
    }

    /// <summary>deadline_move_request: the head moves past `rq`, which goes to the dispatch queue.</summary>
    private void MoveRequest(Request rq)
    {
        int dir = rq.DataDir;
        _nextRq[READ] = _nextRq[WRITE] = null;
        _nextRq[dir] = SectorTree.Next(rq);
        LastSector = rq.Sector + rq.NrSectors;
        RemoveRequest(rq);
        Q.ElvDispatchAddTail(rq);
    }

    /// <summary>deadline_check_fifo: the direction's oldest request has expired.</summary>
    private bool CheckFifo(int dir) => Kernel.Core.Time.Hz.TimeAfter(Q.Machine.Jiffies, _fifoList[dir].First!.Value.FifoTime);

    public override bool Dispatch(bool force)
    {
        bool reads = _fifoList[READ].Count > 0;
        bool writes = _fifoList[WRITE].Count > 0;
        var rq = _nextRq[WRITE] ?? _nextRq[READ];
        if (rq is not null)
        {
            if (LastSector != rq.Sector)
            {
                Batching += FifoBatch; // a non-sequential request ends the batch
            }
            if (Batching < FifoBatch)
            {
                return DispatchRequest(rq);
            }
        }
        int dir;
        if (reads && !(writes && Starved++ >= WritesStarved))
        {
            dir = READ;
        }
        else if (writes)
        {
            Starved = 0;
            dir = WRITE;
        }
        else
        {
            return false;
        }
        if (CheckFifo(dir))
        {
            Batching = 0;
            rq = _fifoList[dir].First!.Value;
        }
        else if (_nextRq[dir] is { } next)
        {
            rq = next;
        }
        else
        {
            Batching = 0;
            rq = _sortList[dir].First()!;
        }
        return DispatchRequest(rq);
    }

    private bool DispatchRequest(Request rq)
    {
        Batching++;
        MoveRequest(rq);
        return true;
    }

    public override bool QueueEmpty => _fifoList[READ].Count == 0 && _fifoList[WRITE].Count == 0;

    public override Request? FormerRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Prev(rq);

    public override Request? LatterRequest(Request rq) => rq.RbTree is null ? null : SectorTree.Next(rq);

    public override void ExitQueue()
    {
        if (!QueueEmpty)
        {
            throw new Kernel.Core.KernelBug($"deadline: exit with {Queued} requests queued");
        }
    }

    public override IReadOnlyList<ElvAttribute> Attributes => _attrs ??=
    [
        ElvAttribute.Number("read_expire", () => Q.Machine.Hz.JiffiesToMsecs((uint)_fifoExpire[READ]),
            v => _fifoExpire[READ] = (int)Q.Machine.Hz.MsecsToJiffies((uint)v), 0, int.MaxValue),
        ElvAttribute.Number("write_expire", () => Q.Machine.Hz.JiffiesToMsecs((uint)_fifoExpire[WRITE]),
            v => _fifoExpire[WRITE] = (int)Q.Machine.Hz.MsecsToJiffies((uint)v), 0, int.MaxValue),
        ElvAttribute.Number("writes_starved", () => WritesStarved, v => WritesStarved = (int)v, int.MinValue, int.MaxValue),
        ElvAttribute.Number("front_merges", () => FrontMerges ? 1 : 0, v => FrontMerges = v != 0, 0, 1),
        ElvAttribute.Number("fifo_batch", () => FifoBatch, v => FifoBatch = (int)v, 0, int.MaxValue),
    ];
}
