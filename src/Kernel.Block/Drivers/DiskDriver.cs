// A disk's driver: its request_fn takes the next request from the elevator (elv_next_request,
// blkdev_dequeue_request), asks the timing model how long it takes, and schedules the completion
// interrupt at that simulated time on the disk's IRQ CPU. The interrupt moves the data between the
// request's pages and the store (the DMA), applies injected faults, and hands the request to
// BLOCK_SOFTIRQ (blk_complete_request); the softirq ends it (end_that_request_chunk/last, which
// run the bios' end_io) and starts the next. One request at a time, as an ATA disk without
// command queueing serves them.
using Kernel.Core;
using Kernel.Core.Events;
using Kernel.Mm;

namespace Kernel.Block.Drivers;

public sealed class DiskDriver : IEventTarget
{
    private readonly RequestQueue _q;
    private readonly Machine _m;
    private readonly MemorySubsystem _mem;
    private readonly HashSet<long> _failSectors = new();
    private Prng? _faultPrng;
    private Request? _active;
    private long _gen;

    internal DiskDriver(RequestQueue q, DiskModel model, BlockStore store, int irqCpu)
    {
        _q = q;
        _m = q.Machine;
        _mem = q.Memory;
        Model = model;
        Store = store;
        IrqCpu = irqCpu;
        q.RequestFn = RequestFn;
        q.SoftirqDoneFn = SoftirqDone;
    }

    public DiskModel Model { get; }

    public BlockStore Store { get; }

    /// <summary>The CPU its completion interrupt is delivered to.</summary>
    public int IrqCpu { get; set; }

    /// <summary>The request the disk is serving, or null when idle.</summary>
    public Request? Active => _active;

    /// <summary>Requests served, and the simulated time the disk was busy.</summary>
    public long Served { get; private set; }

    public long BusyNs { get; private set; }

    /// <summary>Requests that ended with an injected error.</summary>
    public long FailedRequests { get; private set; }

    /// <summary>Sectors that fail with EIO whenever a request touches them.</summary>
    public IReadOnlyCollection<long> FailSectors => _failSectors;

    /// <summary>Fault injection: every request touching `sector` fails there with EIO (the sectors before it complete).</summary>
    public void FailSector(long sector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sector);
        _failSectors.Add(sector);
    }

    public void ClearFaults()
    {
        _failSectors.Clear();
        FailFraction = 0;
    }

    /// <summary>Fault injection: this fraction of requests fails whole with EIO, chosen by a seeded generator (deterministic).</summary>
    public double FailFraction { get; private set; }

    public void FailRandomly(double fraction, ulong seed = 1)
    {
        if (fraction is < 0 or > 1 || double.IsNaN(fraction))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "a fraction of requests is in [0, 1]");
        }
        FailFraction = fraction;
        _faultPrng = new Prng(seed);
    }

    /// <summary>request_fn: start the next request if the disk is idle.</summary>
    private void RequestFn(RequestQueue q)
    {
        if (_active is not null)
        {
            return;
        }
        var rq = q.ElvNextRequest();
        if (rq is null)
        {
            return;
        }
        _m.ChargeLock(q.QueueLock, _m.ThisCpu, q.Block.Costs.DispatchNs);
        q.Disk?.RecordQueueDepth(q.Count[0] + q.Count[1]);
        q.BlkdevDequeueRequest(rq);
        _active = rq;
        long service = Math.Max(1, Model.ServiceNs(rq.Sector, rq.NrSectors, rq.DataDir == 1, _m.Now));
        BusyNs += service;
        _m.At(_m.Now + service, EventPriority.Device, this, ++_gen);
    }

    void IEventTarget.OnEvent(long arg)
    {
        if (arg != _gen || _active is null)
        {
            return;
        }
        _m.DoIrq(_m.Cpus[IrqCpu], _ => Interrupt());
    }

    /// <summary>The completion interrupt: move the data, then finish in BLOCK_SOFTIRQ.</summary>
    private void Interrupt()
    {
        var rq = _active!;
        _m.ChargeTo(_m.ThisCpu, _q.Block.Costs.IrqHandlerNs);
        rq.DriverGoodBytes = Transfer(rq, out bool failed);
        rq.DriverFailed = failed;
        _q.BlkCompleteRequest(rq);
    }

    /// <summary>
    /// Copy the request's bytes between its pages and the store, stopping at the first failing
    /// sector. Returns the bytes done.
    /// </summary>
    private long Transfer(Request rq, out bool failed)
    {
        long total = rq.HardNrSectors << Bio.SECTOR_SHIFT;
        long good = total;
        failed = false;
        if (FailFraction > 0 && _faultPrng!.NextDouble() < FailFraction)
        {
            good = 0;
            failed = true;
        }
        else if (_failSectors.Count > 0)
        {
            for (long s = rq.HardSector; s < rq.HardSector + rq.HardNrSectors; s++)
            {
                if (_failSectors.Contains(s))
                {
                    good = (s - rq.HardSector) << Bio.SECTOR_SHIFT;
                    failed = true;
                    break;
                }
            }
        }
        if (rq.DataDir == 1 && Store.IsReadOnly)
        {
            good = 0;
            failed = true;
        }
        long offset = rq.HardSector << Bio.SECTOR_SHIFT;
        long left = good;
        bool write = rq.DataDir == 1;
        for (var bio = rq.Bio; bio is not null && left > 0; bio = bio.Next)
        {
            for (int i = bio.Idx; i < bio.Vcnt && left > 0; i++)
            {
                var v = bio.IoVec[i];
                int n = (int)Math.Min(v.Len, left);
                if (write)
                {
                    Store.Write(offset, _mem.ReadPage(v.Pfn).Slice(v.Offset, n));
                }
                else
                {
                    Store.Read(offset, _mem.WritePage(v.Pfn, v.Offset, n));
                }
                offset += n;
                left -= n;
            }
        }
        return good;
    }

    /// <summary>softirq_done_fn: end the request (the good part, then the failed rest) and start the next.</summary>
    private void SoftirqDone(Request rq)
    {
        var q = _q;
        _m.ChargeLock(q.QueueLock, _m.ThisCpu, q.Block.Costs.CompleteNs);
        long total = rq.HardNrSectors << Bio.SECTOR_SHIFT;
        long good = rq.DriverGoodBytes;
        bool more = good > 0 && q.EndThatRequestChunk(rq, 0, (int)good);
        int error = 0;
        if (rq.DriverFailed)
        {
            error = (int)Errno.EIO.Ret();
            FailedRequests++;
            more = q.EndThatRequestChunk(rq, error, (int)(total - good));
        }
        if (more)
        {
            throw new KernelBug($"{q.Name}: request {rq} has bytes left after its completion");
        }
        _active = null;
        Served++;
        q.EndThatRequestLast(rq, error);
        q.RunRequestFn();
    }
}
