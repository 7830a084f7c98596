// Linux 2.6.20 block/ll_rw_blk.c: the request queue's request list. Requests come from a mempool
// over the "blkdev_requests" slab cache; each direction may have nr_requests (128) of them.
// get_request marks the queue congested (the backing device's bit, which writeback and reclaim
// read) once count+1 reaches nr_congestion_on (113), and full at nr_requests: then only a
// "batcher" (a task that just slept for a request) may take more, up to 50 % over the limit.
// get_request_wait sleeps uninterruptibly, in I/O wait, on the direction's exclusive wait queue.
// Freeing a request clears congestion below nr_congestion_off (103) and wakes one sleeper while
// the direction is under its limit.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm;
using Kernel.Mm.Slab;

namespace Kernel.Block;

public sealed partial class RequestQueue
{
    /// <summary>BLKDEV_MAX_RQ: the default nr_requests.</summary>
    public const int BLKDEV_MAX_RQ = 128;

    /// <summary>BLKDEV_MIN_RQ: the request pool's reserve.</summary>
    public const int BLKDEV_MIN_RQ = 4;

    /// <summary>BLK_BATCH_REQ: what a batcher may take beyond a full queue.</summary>
    public const int BLK_BATCH_REQ = 32;

    /// <summary>Bytes a request takes in the slab (sizeof(struct request), estimated from 2.6.20's field list).</summary>
    public const int SizeofRequest = 240;

    private readonly MemorySubsystem _mem;
    private readonly Mempool _rqPool;
    private readonly Stack<Request> _hostRequests = new();
    private readonly bool[] _full = new bool[2];
    private readonly BlockTracepoints _trace;

    /// <summary>
    /// blk_init_queue: a request queue for device `name` on `block`'s kernel, with the elevator
    /// `elevator` (the registry's default when null; ArgumentException for an unknown name) and its
    /// own queue lock, or `queueLock` when the driver shares one (2.4's io_request_lock).
    /// </summary>
    public RequestQueue(BlockLayer block, string name, string? elevator = null, KSpinLock? queueLock = null)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Block = block;
        _mem = block.Memory;
        var mem = _mem;
        Name = name;
        QueueLock = queueLock ?? new KSpinLock($"{name}.queue_lock");
        BackingDevInfo = mem.BackingDev.NewInfo(name);
        var cache = mem.FindCache("blkdev_requests") ?? mem.KmemCacheCreate("blkdev_requests", SizeofRequest, SlabFlags.SLAB_PANIC);
        _rqPool = Mempool.CreateSlabPool(mem, BLKDEV_MIN_RQ, cache) ?? throw new InvalidOperationException($"{name}: no memory for the request pool");
        RequestWait = [new WaitQueueHead($"{name}.rq.wait[READ]"), new WaitQueueHead($"{name}.rq.wait[WRITE]")];
        _trace = BlockTracepoints.Of(Machine.Trace);
        _elevators = block.Elevators;
        block.Kblockd.Start(); // blk_dev_init's kblockd workqueue, made with the first queue
        SetNrRequests(BLKDEV_MAX_RQ);
        InitPlugging();
        var e = _elevators.Create(elevator ?? _elevators.Default)
            ?? throw new ArgumentException($"no I/O scheduler {elevator ?? _elevators.Default} (have: {string.Join(", ", _elevators.Names)})", nameof(elevator));
        Attach(e);
    }

    /// <summary>The kernel's block layer.</summary>
    public BlockLayer Block { get; }

    public Machine Machine => _mem.Machine;

    public MemorySubsystem Memory => _mem;

    /// <summary>request_fn: the driver, called with the queue lock held when requests may be served.</summary>
    public Action<RequestQueue>? RequestFn { get; set; }

    /// <summary>softirq_done_fn: finishes a request blk_complete_request handed to BLOCK_SOFTIRQ.</summary>
    public Action<Request>? SoftirqDoneFn { get; set; }

    /// <summary>The disk it serves (rq_disk of its requests).</summary>
    public Gendisk? Disk { get; internal set; }

    /// <summary>QUEUE_FLAG_STOPPED: the driver stopped it (blk_stop_queue); it runs again at blk_start_queue.</summary>
    public bool Stopped { get; private set; }

    /// <summary>blk_stop_queue: no request_fn calls until blk_start_queue.</summary>
    public void StopQueue()
    {
        RemovePlug();
        Stopped = true;
    }

    /// <summary>blk_start_queue: clear the stop and run the queue.</summary>
    public void StartQueue()
    {
        Stopped = false;
        RunRequestFn();
    }

    /// <summary>Call request_fn unless the queue is stopped (q->request_fn(q)).</summary>
    internal void RunRequestFn()
    {
        if (!Stopped)
        {
            RequestFn?.Invoke(this);
        }
    }

    /// <summary>blk_start_queueing: run the driver, or pull the plug if the queue is plugged.</summary>
    public void StartQueueing()
    {
        if (!Plugged)
        {
            RunRequestFn();
        }
        else
        {
            GenericUnplugDevice();
        }
    }

    /// <summary>blk_run_queue: unplug and run the driver.</summary>
    public void RunQueue()
    {
        RemovePlug();
        RunRequestFn();
    }

    internal void Trace(BlockAction action, Request rq)
    {
        var tp = _trace[action];
        if (tp.Enabled)
        {
            Emit(tp, action, rq.DataDir == 1, (rq.CmdFlags & RequestFlags.REQ_RW_SYNC) != 0, (rq.CmdFlags & RequestFlags.REQ_HARDBARRIER) != 0,
                false, rq.Sector, rq.NrSectors, rq.Errors == 0 ? 0 : -(int)Errno.EIO);
        }
    }

    internal void Trace(BlockAction action, Bio bio, int error = 0)
    {
        var tp = _trace[action];
        if (tp.Enabled)
        {
            Emit(tp, action, bio.IsWrite, (bio.Rw & BioRw.BIO_RW_SYNC) != 0, (bio.Rw & BioRw.BIO_RW_BARRIER) != 0,
                (bio.Rw & BioRw.BIO_RW_AHEAD) != 0, bio.Sector, bio.Sectors, error);
        }
    }

    /// <summary>blk_add_trace_pdu_int(BLK_TA_SPLIT): `bio` is split, the second half starting at `newSector`.</summary>
    internal void TraceSplit(Bio bio, long newSector)
    {
        var tp = _trace[BlockAction.Split];
        if (tp.Enabled)
        {
            Emit(tp, BlockAction.Split, bio.IsWrite, (bio.Rw & BioRw.BIO_RW_SYNC) != 0, (bio.Rw & BioRw.BIO_RW_BARRIER) != 0,
                (bio.Rw & BioRw.BIO_RW_AHEAD) != 0, bio.Sector, bio.Sectors, 0, pdu: newSector);
        }
    }

    /// <summary>A trace record without a request or bio (plug, unplug): the pdu is the request count.</summary>
    internal void Trace(BlockAction action)
    {
        var tp = _trace[action];
        if (tp.Enabled)
        {
            Emit(tp, action, false, false, false, false, 0, Count[0] + Count[1], 0, noData: true);
        }
    }

    private void Emit(Kernel.Core.Trace.Tracepoint<BlockTraceEvent> tp, BlockAction action, bool write, bool sync, bool barrier, bool ahead,
        long sector, long nr, int error, bool noData = false, long pdu = 0)
    {
        var m = Machine;
        var cpu = m.ThisCpu;
        var cur = cpu.Curr;
        string rwbs = noData ? "N" : (write ? "W" : "R") + (barrier ? "B" : "") + (sync ? "S" : "") + (ahead ? "A" : "");
        tp.Emit(new BlockTraceEvent(m.Now, cpu.Id, Name, action, rwbs, sector, nr, error, cur.IsIdleTask ? 0 : cur.Pid, cur.Comm, pdu));
    }

    public string Name { get; }

    /// <summary>queue_lock: guards the queue, its requests and the elevator.</summary>
    public KSpinLock QueueLock { get; }

    /// <summary>backing_dev_info: the congestion bits the VM sees.</summary>
    public BackingDevInfo BackingDevInfo { get; }

    /// <summary>nr_requests (/sys/block/DEV/queue/nr_requests).</summary>
    public int NrRequests { get; private set; }

    public int NrCongestionOn { get; private set; }

    public int NrCongestionOff { get; private set; }

    /// <summary>nr_batching: BLK_BATCH_REQ.</summary>
    public int NrBatching { get; } = BLK_BATCH_REQ;

    /// <summary>rq.count[READ], rq.count[WRITE]: requests allocated per direction.</summary>
    public int[] Count { get; } = new int[2];

    /// <summary>rq.starved[]: a direction whose allocation failed with none of its own outstanding.</summary>
    public bool[] Starved { get; } = new bool[2];

    /// <summary>rq.wait[]: tasks sleeping for a request, per direction.</summary>
    public WaitQueueHead[] RequestWait { get; }

    /// <summary>QUEUE_FLAG_READFULL / WRITEFULL.</summary>
    public bool IsFull(int rw) => _full[rw];

    /// <summary>Tasks that slept in get_request_wait (the SLEEPRQ trace count).</summary>
    public long SleepRq { get; private set; }

    /// <summary>blk_queue_congestion_threshold and queue_requests_store: set nr_requests and the thresholds.</summary>
    public void SetNrRequests(int nr)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nr, BLKDEV_MIN_RQ, nameof(nr));
        NrRequests = nr;
        int on = nr - nr / 8 + 1;
        NrCongestionOn = Math.Min(on, nr);
        int off = nr - nr / 8 - nr / 16 - 1;
        NrCongestionOff = Math.Max(off, 1);
        for (int rw = 0; rw < 2; rw++)
        {
            // queue_requests_store: re-evaluate congestion and fullness against the new limits.
            if (Count[rw] >= NrCongestionOn)
            {
                BackingDevInfo.SetCongested(rw);
            }
            else if (Count[rw] < NrCongestionOff)
            {
                BackingDevInfo.ClearCongested(rw);
            }
            if (Count[rw] >= NrRequests)
            {
                _full[rw] = true;
            }
            else
            {
                _full[rw] = false;
                RequestWait[rw].WakeUp(TaskState.TASK_UNINTERRUPTIBLE, 1);
            }
        }
    }

    /// <summary>
    /// get_request: a fresh request for direction `rw` (0 read, 1 write) of the executing task,
    /// or null when the queue is full for it or memory is short. Never sleeps.
    /// </summary>
    public Request? GetRequest(int rw, Gfp gfp, bool sync = false)
    {
        CheckRw(rw);
        var m = _mem.Machine;
        IoContext? ioc = null;
        var mayQueue = Elevator.MayQueue(rw, sync);
        if (mayQueue == ElvMayQueue.No)
        {
            if (Count[rw] == 0)
            {
                Starved[rw] = true;
            }
            return null;
        }
        if (Count[rw] + 1 >= NrCongestionOn)
        {
            if (Count[rw] + 1 >= NrRequests)
            {
                ioc = CurrentIoContext(m);
                if (!_full[rw])
                {
                    // The queue fills with this one: it is full now, and this task a batcher.
                    SetBatching(ioc, m);
                    _full[rw] = true;
                }
                else if (mayQueue != ElvMayQueue.Must && !IsBatching(ioc, m))
                {
                    return null;
                }
            }
            BackingDevInfo.SetCongested(rw);
        }
        if (Count[rw] >= 3 * NrRequests / 2)
        {
            return null; // not even a batcher goes 50 % over nr_requests
        }
        Count[rw]++;
        Starved[rw] = false;
        var e = Elevator;
        e.Outstanding++; // rq.elvpriv: the elevator is never bypassed here (see ElevatorSwitch)
        var obj = _rqPool.Alloc(gfp);
        var rq = obj.IsNone ? null : _hostRequests.Count > 0 ? _hostRequests.Pop() : new Request(this);
        if (rq is not null)
        {
            rq.Init(RequestFlags.REQ_ALLOCED | RequestFlags.REQ_ELVPRIV | (rw == 1 ? RequestFlags.REQ_RW : RequestFlags.None)
                | (sync ? RequestFlags.REQ_RW_SYNC : RequestFlags.None), m.Now);
            rq.SlabObj = obj;
            rq.ElevatorOwner = e;
            if (e.SetRequest(rq) != 0)
            {
                _rqPool.Free(obj);
                rq.SlabObj = SlabObject.None;
                _hostRequests.Push(rq);
                rq = null;
            }
        }
        if (rq is null)
        {
            FreedRequest(rw, e);
            if (Count[rw] == 0)
            {
                Starved[rw] = true;
            }
            return null;
        }
        if (IsBatching(ioc, m))
        {
            ioc!.NrBatchRequests--;
        }
        TraceGetRq(rw);
        return rq;
    }

    /// <summary>
    /// get_request_wait: a request, sleeping for one if it must. After a sleep the task becomes
    /// a batcher, so it gets at least this one and maybe a batch more.
    /// </summary>
    public ValueTask<Request> GetRequestWait(int rw, bool sync = false)
    {
        CheckRw(rw);
        var rq = GetRequest(rw, Gfp.GFP_NOIO, sync);
        return rq is not null ? new ValueTask<Request>(rq) : GetRequestSleeping(rw, sync);
    }

    private async ValueTask<Request> GetRequestSleeping(int rw, bool sync)
    {
        var m = _mem.Machine;
        var wq = RequestWait[rw];
        while (true)
        {
            wq.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE, exclusive: true);
            var rq = GetRequest(rw, Gfp.GFP_NOIO, sync);
            if (rq is null)
            {
                SleepRq++;
                TraceSleepRq(rw);
                GenericUnplugDevice(); // let the driver free some before sleeping for one
                await m.IoScheduleTimeout(ScheduleTimeoutOps.MAX_SCHEDULE_TIMEOUT);
                SetBatching(CurrentIoContext(m), m);
            }
            wq.FinishWait(m);
            if (rq is not null)
            {
                return rq;
            }
        }
    }

    /// <summary>
    /// blk_put_request (__blk_put_request): the last reference tells the elevator the request is
    /// done (if the driver had it), frees it, and wakes a waiter for its direction.
    /// </summary>
    public void PutRequest(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (rq.Q != this || rq.RefCount <= 0)
        {
            throw new KernelBug($"blk_put_request: {rq} is not a live request of {Name}");
        }
        if (--rq.RefCount > 0)
        {
            return;
        }
        if (rq.Dequeued)
        {
            ElvCompletedRequest(rq);
        }
        if ((rq.CmdFlags & RequestFlags.REQ_ALLOCED) != 0)
        {
            if (rq.OnQueueList || rq.HashNode.List is not null)
            {
                throw new KernelBug($"blk_put_request: {rq} is still queued");
            }
            int rw = rq.DataDir;
            var owner = (rq.CmdFlags & RequestFlags.REQ_ELVPRIV) != 0 ? rq.ElevatorOwner : null;
            owner?.PutRequest(rq);
            _rqPool.Free(rq.SlabObj);
            rq.SlabObj = SlabObject.None;
            rq.Bio = rq.BioTail = null;
            rq.ElevatorOwner = null;
            _hostRequests.Push(rq);
            FreedRequest(rw, owner);
        }
    }

    /// <summary>freed_request: one fewer; a starved other direction gets its chance too. A retiring elevator exits with its last request.</summary>
    private void FreedRequest(int rw, Elevator? owner)
    {
        if (owner is not null && --owner.Outstanding == 0 && owner.Retiring)
        {
            owner.ExitQueue();
        }
        Count[rw]--;
        AfterFree(rw);
        if (Starved[rw ^ 1])
        {
            AfterFree(rw ^ 1);
        }
    }

    /// <summary>__freed_request: clear congestion below the off threshold; under the limit, wake one waiter and clear full.</summary>
    private void AfterFree(int rw)
    {
        if (Count[rw] < NrCongestionOff)
        {
            BackingDevInfo.ClearCongested(rw);
        }
        if (Count[rw] + 1 <= NrRequests)
        {
            if (RequestWait[rw].IsActive)
            {
                RequestWait[rw].WakeUp(TaskState.TASK_UNINTERRUPTIBLE, 1);
            }
            _full[rw] = false;
            KickBacklog();
        }
    }

    private void TraceGetRq(int rw)
    {
        if (_trace[BlockAction.GetRq].Enabled)
        {
            Emit(_trace[BlockAction.GetRq], BlockAction.GetRq, rw == 1, false, false, false, 0, 0, 0);
        }
    }

    private void TraceSleepRq(int rw)
    {
        if (_trace[BlockAction.SleepRq].Enabled)
        {
            Emit(_trace[BlockAction.SleepRq], BlockAction.SleepRq, rw == 1, false, false, false, 0, 0, 0);
        }
    }

    private IoContext? CurrentIoContext(Machine m) => Submitter is { IsIdleTask: false } t ? IoContext.Of(t) : null;

    /// <summary>ioc_batching: a batcher while it has requests of its batch left, and within BLK_BATCH_TIME (or has not used any yet).</summary>
    private bool IsBatching(IoContext? ioc, Machine m) =>
        ioc is not null && (ioc.NrBatchRequests == NrBatching
            || (ioc.NrBatchRequests > 0 && (int)(m.Jiffies - ioc.LastWaited - BatchTime(m)) < 0));

    /// <summary>ioc_set_batching.</summary>
    private void SetBatching(IoContext? ioc, Machine m)
    {
        if (ioc is null || IsBatching(ioc, m))
        {
            return;
        }
        ioc.NrBatchRequests = NrBatching;
        ioc.LastWaited = m.Jiffies;
    }

    /// <summary>BLK_BATCH_TIME: HZ/50.</summary>
    private static uint BatchTime(Machine m) => (uint)(m.Hz.Value / 50);

    private static void CheckRw(int rw)
    {
        if (rw is not (0 or 1))
        {
            throw new ArgumentOutOfRangeException(nameof(rw), rw, "a direction is READ (0) or WRITE (1)");
        }
    }
}
