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

    public RequestQueue(MemorySubsystem mem, string name)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _mem = mem;
        Name = name;
        QueueLock = new KSpinLock($"{name}.queue_lock");
        BackingDevInfo = mem.BackingDev.NewInfo(name);
        var cache = mem.FindCache("blkdev_requests") ?? mem.KmemCacheCreate("blkdev_requests", SizeofRequest, SlabFlags.SLAB_PANIC);
        _rqPool = Mempool.CreateSlabPool(mem, BLKDEV_MIN_RQ, cache) ?? throw new InvalidOperationException($"{name}: no memory for the request pool");
        RequestWait = [new WaitQueueHead($"{name}.rq.wait[READ]"), new WaitQueueHead($"{name}.rq.wait[WRITE]")];
        SetNrRequests(BLKDEV_MAX_RQ);
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
    public Request? GetRequest(int rw, Gfp gfp)
    {
        CheckRw(rw);
        var m = _mem.Machine;
        IoContext? ioc = null;
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
                else if (!IsBatching(ioc, m))
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
        var obj = _rqPool.Alloc(gfp);
        if (obj.IsNone)
        {
            FreedRequest(rw);
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
        var rq = _hostRequests.Count > 0 ? _hostRequests.Pop() : new Request(this);
        rq.Init(RequestFlags.REQ_ALLOCED | (rw == 1 ? RequestFlags.REQ_RW : RequestFlags.None), m.Now);
        rq.SlabObj = obj;
        return rq;
    }

    /// <summary>
    /// get_request_wait: a request, sleeping for one if it must. After a sleep the task becomes
    /// a batcher, so it gets at least this one and maybe a batch more.
    /// </summary>
    public ValueTask<Request> GetRequestWait(int rw)
    {
        CheckRw(rw);
        var rq = GetRequest(rw, Gfp.GFP_NOIO);
        return rq is not null ? new ValueTask<Request>(rq) : GetRequestSleeping(rw);
    }

    private async ValueTask<Request> GetRequestSleeping(int rw)
    {
        var m = _mem.Machine;
        var wq = RequestWait[rw];
        while (true)
        {
            wq.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE, exclusive: true);
            var rq = GetRequest(rw, Gfp.GFP_NOIO);
            if (rq is null)
            {
                SleepRq++;
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

    /// <summary>blk_put_request: the last reference frees the request and wakes a waiter for its direction.</summary>
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
        if ((rq.CmdFlags & RequestFlags.REQ_ALLOCED) != 0)
        {
            int rw = rq.DataDir;
            _rqPool.Free(rq.SlabObj);
            rq.SlabObj = SlabObject.None;
            rq.Bio = rq.BioTail = null;
            _hostRequests.Push(rq);
            FreedRequest(rw);
        }
    }

    /// <summary>freed_request: one fewer; a starved other direction gets its chance too.</summary>
    private void FreedRequest(int rw)
    {
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
        }
    }

    private static IoContext? CurrentIoContext(Machine m) => m.ThisCpu is { Curr.IsIdleTask: false } cpu ? IoContext.Of(cpu.Curr) : null;

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
