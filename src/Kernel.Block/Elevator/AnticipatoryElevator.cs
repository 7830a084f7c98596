// Linux 2.6.20 block/as-iosched.c, the anticipatory scheduler. Requests are split sync (reads and
// sync writes) and async, each with a sort tree and a FIFO (read_expire 125 ms, write_expire
// 250 ms). Service runs in batches of one kind (read_batch_expire 500 ms, write batches sized by
// write_batch_expire 125 ms and auto-tuned). After a sync request completes, the disk may be held
// idle up to antic_expire (about 6 ms) for the process that issued it, because it will likely
// issue another nearby read soon ("deceptive idleness"); anticipation ends early when that process
// submits, when a close request from another arrives, or when its history (think time, seek
// distance, exit probability) says waiting will not pay. Per-process history lives in the
// task's io_context (AsIoContext). This file holds the state, anticipation and dispatch;
// .History.cs the heuristics; .Requests.cs the request hooks.
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class AnticipatoryElevator : Elevator
{
    private const int REQ_SYNC = 1, REQ_ASYNC = 0;

    /// <summary>MAXBACK: the farthest (in sectors) the head goes back for a request, at twice the cost.</summary>
    public const long MAXBACK = 1024 * 1024;

    public const int BACK_PENALTY = 2;

    private readonly SectorTree[] _sortList = [new(), new()];
    private readonly LinkedList<Request>[] _fifoList = [new(), new()];
    private readonly Request?[] _nextRq = new Request?[2];
    private readonly long[] _lastSector = new long[2];
    private readonly uint[] _lastCheckFifo = new uint[2];
    private readonly uint[] _fifoExpire = new uint[2];
    private readonly uint[] _batchExpire = new uint[2];
    private KTimer _anticTimer = null!;
    private Action _anticWork = null!;
    private IReadOnlyList<ElvAttribute>? _attrs;
    private uint _maxThinktime;

    /// <summary>Per-request state (RQ_IOC and RQ_STATE).</summary>
    private sealed class AsRq
    {
        public IoContext? Ioc;
        public AsRqState State;
    }

    private enum AsRqState
    {
        New,
        Queued,
        Dispatched,
        Removed,
        Merged,
        PostSched,
    }

    public override string Name => "anticipatory";

    public AnticStatus AnticStatus { get; private set; }

    /// <summary>batch_data_dir: 1 while serving a sync (read) batch, 0 for writes.</summary>
    public int BatchDataDir { get; private set; } = REQ_SYNC;

    public int WriteBatchCount { get; private set; }

    public ulong ExitProb { get; private set; }

    public ulong ExitNoCoop { get; private set; }

    public ulong NewTtimeMean { get; private set; }

    public long NewSeekMean { get; private set; }

    /// <summary>Times the disk was held idle in anticipation, times the awaited process's own request ended the wait, and timeouts.</summary>
    public long Anticipations { get; private set; }

    public long AnticipationHits { get; private set; }

    public long AnticipationTimeouts { get; private set; }

    public uint AnticExpire { get; private set; }

    private ulong _newTtimeTotal;
    private ulong _newSeekTotal;
    private uint _currentBatchExpires;
    private bool _changedBatch;
    private bool _newBatch;
    private int _currentWriteCount;
    private bool _writeBatchIdled;
    private uint _anticStart;
    private IoContext? _ioContext;
    private bool _iocFinished;
    private int _nrDispatched;

    public override int Queued => _fifoList[0].Count + _fifoList[1].Count;

    public override IEnumerable<Request> QueuedRequests => _fifoList[0].Concat(_fifoList[1]);

    protected internal override void Init()
    {
        var hz = Q.Machine.Hz.Value;
        uint J(int v) => (uint)Math.Max(v, 0);
        _fifoExpire[REQ_SYNC] = J(hz / 8);
        _fifoExpire[REQ_ASYNC] = J(hz / 4);
        AnticExpire = J(hz / 150 != 0 ? hz / 150 : 1);
        _batchExpire[REQ_SYNC] = J(hz / 2);
        _batchExpire[REQ_ASYNC] = J(hz / 8);
        _maxThinktime = J(hz / 50);
        _currentBatchExpires = Q.Machine.Jiffies + _batchExpire[REQ_SYNC];
        WriteBatchCount = Math.Max(2, (int)(_batchExpire[REQ_ASYNC] / 10));
        _anticTimer = new KTimer(_ => AnticTimeout(), this);
        _anticWork = () =>
        {
            Q.Machine.ChargeLock(Q.QueueLock, Q.Machine.ThisCpu, Q.Block.Costs.UnplugNs);
            Q.StartQueueing();
        };
    }

    private uint Jiffies => Q.Machine.Jiffies;

    /// <summary>rq_is_sync: a read, or a write marked sync.</summary>
    private static int IsSync(Request rq) => rq.DataDir == 0 || (rq.CmdFlags & RequestFlags.REQ_RW_SYNC) != 0 ? REQ_SYNC : REQ_ASYNC;

    private static AsRq Arq(Request rq) => (AsRq)rq.ElevatorPrivate!;

    private static IoContext? RqIoc(Request rq) => rq.ElevatorPrivate is AsRq a ? a.Ioc : null;

    /// <summary>as_get_io_context: the current task's io_context with its AS part (none for a kernel context without a task).</summary>
    private IoContext? CurrentIoContext()
    {
        var cur = Q.Submitter;
        if (cur.IsIdleTask)
        {
            return null;
        }
        var ioc = IoContext.Of(cur);
        ioc.Aic ??= new AsIoContext(ioc);
        return ioc;
    }

    /// <summary>as_put_io_context: a finished sync request marks its process's I/O as running.</summary>
    private void PutIoContext(Request rq)
    {
        if (RqIoc(rq)?.Aic is { } aic && IsSync(rq) == REQ_SYNC)
        {
            aic.IoRunning = true;
            aic.LastEndRequest = Jiffies;
        }
    }

    private void AddRqRb(Request rq)
    {
        while (_sortList[IsSync(rq)].Add(rq) is { } alias)
        {
            MoveToDispatch(alias);
            AnticStop();
        }
    }

    /// <summary>as_choose_req: the better of two same-kind requests for the head at last_sector (short back seeks cost double).</summary>
    private Request? ChooseReq(Request? rq1, Request? rq2)
    {
        if (rq1 is null || rq1 == rq2)
        {
            return rq2;
        }
        if (rq2 is null)
        {
            return rq1;
        }
        return SeekChoice.Choose(rq1, rq2, _lastSector[IsSync(rq1)], MAXBACK, BACK_PENALTY);
    }

    /// <summary>as_find_next_rq: the better of the requests just after and just before `last` (wrapping to the first).</summary>
    private Request? FindNextRq(Request last)
    {
        var prev = SectorTree.Prev(last);
        var next = SectorTree.Next(last);
        if (next is null)
        {
            var first = _sortList[IsSync(last)].First();
            if (first != last)
            {
                next = first;
            }
        }
        return ChooseReq(next, prev);
    }

    private bool AnticExpired()
    {
        long delta = Math.Abs((int)(Jiffies - _anticStart));
        return delta >= AnticExpire;
    }

    /// <summary>as_antic_waitnext: the awaited request completed; wait up to antic_expire for the next.</summary>
    private void AnticWaitNext()
    {
        _anticTimer.Mod(Q.Machine, _anticStart + AnticExpire);
        AnticStatus = AnticStatus.WaitNext;
    }

    /// <summary>as_antic_waitreq: start anticipating, timing from the completion of the last request if it is still running.</summary>
    private void AnticWaitReq()
    {
        if (AnticStatus == AnticStatus.Off)
        {
            Anticipations++;
            if (_ioContext is null || _iocFinished)
            {
                AnticWaitNext();
            }
            else
            {
                AnticStatus = AnticStatus.WaitReq;
            }
        }
    }

    /// <summary>as_antic_stop: end anticipation and run the queue from kblockd.</summary>
    private void AnticStop()
    {
        var status = AnticStatus;
        if (status is AnticStatus.WaitReq or AnticStatus.WaitNext)
        {
            if (status == AnticStatus.WaitNext)
            {
                _anticTimer.Del(Q.Machine);
            }
            AnticStatus = AnticStatus.Finished;
            Q.Block.Kblockd.ScheduleWork(_anticWork);
        }
    }

    /// <summary>as_antic_timeout: nobody came; learn that the process may have gone.</summary>
    private void AnticTimeout()
    {
        Q.Machine.ChargeLock(Q.QueueLock, Q.Machine.ThisCpu, Q.Block.Costs.UnplugNs);
        if (AnticStatus is AnticStatus.WaitReq or AnticStatus.WaitNext)
        {
            AnticipationTimeouts++;
            var aic = _ioContext!.Aic!;
            AnticStatus = AnticStatus.Finished;
            Q.Block.Kblockd.ScheduleWork(_anticWork);
            if (aic.TtimeSamples == 0)
            {
                ExitProb = (7 * ExitProb + 256) / 8;
            }
            if (!aic.Running)
            {
                ExitNoCoop = (7 * ExitNoCoop + 256) / 8;
            }
        }
    }

    public override void CompletedRequest(Request rq)
    {
        var arq = Arq(rq);
        if (arq.State != AsRqState.Removed)
        {
            arq.State = AsRqState.PostSched;
            return;
        }
        if (_changedBatch && _nrDispatched == 1)
        {
            Q.Block.Kblockd.ScheduleWork(_anticWork);
            _changedBatch = false;
            if (BatchDataDir == REQ_SYNC)
            {
                _newBatch = true;
            }
        }
        _nrDispatched--;
        // The batch is timed from when its first request is actually served.
        if (_newBatch && BatchDataDir == IsSync(rq))
        {
            UpdateWriteBatch();
            _currentBatchExpires = Jiffies + _batchExpire[REQ_SYNC];
            _newBatch = false;
        }
        if (_ioContext is not null && _ioContext == arq.Ioc)
        {
            _anticStart = Jiffies;
            _iocFinished = true;
            if (AnticStatus == AnticStatus.WaitReq)
            {
                AnticWaitNext(); // the awaited request is done: time the wait from now
            }
        }
        PutIoContext(rq);
        arq.State = AsRqState.PostSched;
    }

    /// <summary>as_remove_queued_request.</summary>
    private void RemoveQueuedRequest(Request rq)
    {
        int dir = IsSync(rq);
        if (RqIoc(rq)?.Aic is { } aic)
        {
            aic.NrQueued--;
        }
        if (_nextRq[dir] == rq)
        {
            _nextRq[dir] = FindNextRq(rq);
        }
        rq.QueueNode.List?.Remove(rq.QueueNode);
        _sortList[dir].Remove(rq);
    }

    /// <summary>as_fifo_expired: the oldest request of `dir` expired (looked at once per fifo_expire, against seek storms).</summary>
    private bool FifoExpired(int dir)
    {
        long delta = Math.Abs((int)(Jiffies - _lastCheckFifo[dir]));
        if (delta < _fifoExpire[dir])
        {
            return false;
        }
        _lastCheckFifo[dir] = Jiffies;
        return _fifoList[dir].First is { } first && Hz.TimeAfter(Jiffies, first.Value.FifoTime);
    }

    private bool BatchExpired()
    {
        if (_changedBatch || _newBatch)
        {
            return false;
        }
        bool late = Hz.TimeAfter(Jiffies, _currentBatchExpires);
        return BatchDataDir == REQ_SYNC ? late : late || _currentWriteCount == 0;
    }

    /// <summary>as_move_to_dispatch.</summary>
    private void MoveToDispatch(Request rq)
    {
        int dir = IsSync(rq);
        AnticStop();
        AnticStatus = AnticStatus.Off;
        _lastSector[dir] = rq.Sector + rq.NrSectors;
        if (dir == REQ_SYNC)
        {
            _ioContext = RqIoc(rq); // in case we anticipate after it
        }
        else
        {
            _ioContext = null;
            if (_currentWriteCount != 0)
            {
                _currentWriteCount--;
            }
        }
        _iocFinished = false;
        _nextRq[dir] = FindNextRq(rq);
        RemoveQueuedRequest(rq);
        Q.ElvDispatchSort(rq);
        var arq = Arq(rq);
        arq.State = AsRqState.Dispatched;
        if (arq.Ioc?.Aic is { } aic)
        {
            aic.NrDispatched++;
        }
        _nrDispatched++;
    }

    public override bool Dispatch(bool force)
    {
        bool reads = _fifoList[REQ_SYNC].Count > 0;
        bool writes = _fifoList[REQ_ASYNC].Count > 0;
        if (force)
        {
            // Forced: dump both lists; batch accounting restarts on the read side.
            int dispatched = 0;
            BatchDataDir = REQ_SYNC;
            _changedBatch = false;
            _newBatch = false;
            while (_nextRq[REQ_SYNC] is { } r)
            {
                MoveToDispatch(r);
                dispatched++;
            }
            _lastCheckFifo[REQ_SYNC] = Jiffies;
            while (_nextRq[REQ_ASYNC] is { } w)
            {
                MoveToDispatch(w);
                dispatched++;
            }
            _lastCheckFifo[REQ_ASYNC] = Jiffies;
            return dispatched > 0;
        }
        if (BatchDataDir == REQ_ASYNC && !reads && (_currentWriteCount == 0 || !writes))
        {
            _writeBatchIdled = true; // an uncontended write batch cannot be timed
        }
        if (!(reads || writes) || AnticStatus is AnticStatus.WaitReq or AnticStatus.WaitNext || _changedBatch)
        {
            return false;
        }
        Request? rq;
        if (!(reads && writes && BatchExpired()))
        {
            // The batch runs on (or only one kind is waiting).
            rq = _nextRq[BatchDataDir];
            if (BatchDataDir == REQ_SYNC && AnticExpire != 0)
            {
                if (FifoExpired(REQ_SYNC))
                {
                    rq = _fifoList[BatchDataDir].First!.Value;
                    return DispatchChosen(rq);
                }
                if (CanAnticipate(rq))
                {
                    AnticWaitReq();
                    return false;
                }
            }
            if (rq is not null)
            {
                if (reads && !writes)
                {
                    _currentBatchExpires = Jiffies + _batchExpire[REQ_SYNC];
                }
                return DispatchRequest(rq);
            }
        }
        // A new batch: choose the kind.
        if (reads && !(writes && BatchDataDir == REQ_SYNC))
        {
            if (BatchDataDir == REQ_ASYNC)
            {
                _changedBatch = true;
            }
            BatchDataDir = REQ_SYNC;
            rq = _fifoList[REQ_SYNC].First!.Value;
            _lastCheckFifo[BatchDataDir] = Jiffies;
            return DispatchRequest(rq);
        }
        if (BatchDataDir == REQ_SYNC)
        {
            _changedBatch = true;
            _newBatch = false; // the reads may have run out before the last one finished
        }
        BatchDataDir = REQ_ASYNC;
        _currentWriteCount = WriteBatchCount;
        _writeBatchIdled = false;
        rq = _nextRq[BatchDataDir];
        return DispatchRequest(rq!);
    }

    /// <summary>dispatch_request: an expired request of the batch's kind goes first.</summary>
    private bool DispatchRequest(Request rq)
    {
        if (FifoExpired(BatchDataDir))
        {
            rq = _fifoList[BatchDataDir].First!.Value;
        }
        return DispatchChosen(rq);
    }

    private bool DispatchChosen(Request rq)
    {
        if (_changedBatch)
        {
            if (_nrDispatched != 0)
            {
                return false; // the old batch drains first
            }
            if (BatchDataDir == REQ_ASYNC)
            {
                _currentBatchExpires = Jiffies + _batchExpire[REQ_ASYNC];
            }
            else
            {
                _newBatch = true;
            }
            _changedBatch = false;
        }
        MoveToDispatch(rq);
        return true;
    }

    public override IReadOnlyList<ElvAttribute> Attributes => _attrs ??=
    [
        ElvAttribute.ReadOnly("est_time", () => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{100 * ExitProb / 256} % exit probability\n{100 * ExitNoCoop / 256} % probability of exiting without a cooperating process submitting IO\n{NewTtimeMean} ms new thinktime\n{NewSeekMean} sectors new seek distance\n")),
        Ms("read_expire", () => _fifoExpire[REQ_SYNC], v => _fifoExpire[REQ_SYNC] = v),
        Ms("write_expire", () => _fifoExpire[REQ_ASYNC], v => _fifoExpire[REQ_ASYNC] = v),
        Ms("antic_expire", () => AnticExpire, v => AnticExpire = v),
        Ms("read_batch_expire", () => _batchExpire[REQ_SYNC], v => _batchExpire[REQ_SYNC] = v),
        Ms("write_batch_expire", () => _batchExpire[REQ_ASYNC], v => _batchExpire[REQ_ASYNC] = v),
    ];

    /// <summary>A tunable kept in jiffies and shown and stored in milliseconds.</summary>
    private ElvAttribute Ms(string name, Func<uint> get, Action<uint> set) =>
        ElvAttribute.Number(name, () => Q.Machine.Hz.JiffiesToMsecs(get()), v => set(Q.Machine.Hz.MsecsToJiffies((uint)v)), 0, int.MaxValue);
}
