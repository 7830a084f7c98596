// Linux 2.6.20 block/ll_rw_blk.c plugging. A bio that finds the queue empty plugs it: requests
// gather (and merge) instead of going to the driver one at a time. The plug is pulled when
// unplug_thresh (4) requests are waiting, when a sync bio arrives, when a task is about to wait
// for I/O (blk_backing_dev_unplug, through sync_page or get_request_wait), or when unplug_delay
// (3 ms) passes: the unplug timer fires in TIMER_SOFTIRQ and hands the unplug to kblockd, which
// runs it in process context.
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class RequestQueue
{
    private KTimer _unplugTimer = null!;
    private Action _unplugWork = null!;

    /// <summary>QUEUE_FLAG_PLUGGED.</summary>
    public bool Plugged { get; private set; }

    /// <summary>unplug_thresh: waiting requests that unplug a plugged queue (4).</summary>
    public int UnplugThresh { get; set; } = 4;

    /// <summary>unplug_delay in jiffies: 3 ms, at least one jiffy.</summary>
    public uint UnplugDelay { get; set; }

    /// <summary>Unplugs, by cause (what blktrace's U and T records count).</summary>
    public long UnplugsByThreshold { get; private set; }

    public long UnplugsByTimer { get; private set; }

    public long UnplugsByIo { get; private set; }

    private void InitPlugging()
    {
        UnplugDelay = Math.Max(1u, (uint)(3 * Machine.Hz.Value / 1000));
        _unplugTimer = new KTimer(_ => UnplugTimeout(), this);
        _unplugWork = UnplugWork;
    }

    /// <summary>blk_plug_device: plug (not a stopped queue) and arm the unplug timer.</summary>
    public void PlugDevice()
    {
        if (Stopped || Plugged)
        {
            return;
        }
        Plugged = true;
        _unplugTimer.Mod(Machine, unchecked(Machine.Jiffies + UnplugDelay));
        Trace(BlockAction.Plug);
    }

    /// <summary>blk_remove_plug: true if it was plugged.</summary>
    public bool RemovePlug()
    {
        if (!Plugged)
        {
            return false;
        }
        Plugged = false;
        _unplugTimer.Del(Machine);
        return true;
    }

    /// <summary>__generic_unplug_device: pull the plug and run the driver (nothing if not plugged or stopped).</summary>
    internal void GenericUnplugDevice(bool byThreshold = false)
    {
        if (Stopped || !RemovePlug())
        {
            return;
        }
        if (byThreshold)
        {
            UnplugsByThreshold++;
        }
        RunRequestFn();
    }

    /// <summary>
    /// generic_unplug_device under the queue lock, as blk_backing_dev_unplug calls it when a task
    /// is about to wait for this device's I/O (sync_page, blk_run_address_space).
    /// </summary>
    public void Unplug()
    {
        Machine.ChargeLock(QueueLock, Machine.ThisCpu, Block.Costs.UnplugNs);
        if (Plugged)
        {
            UnplugsByIo++;
            Trace(BlockAction.UnplugIo);
        }
        GenericUnplugDevice();
    }

    /// <summary>blk_unplug_timeout: the timer (softirq) passes the unplug to kblockd.</summary>
    private void UnplugTimeout()
    {
        Trace(BlockAction.UnplugTimer);
        Block.Kblockd.ScheduleWork(_unplugWork);
    }

    /// <summary>blk_unplug_work on kblockd: generic_unplug_device.</summary>
    private void UnplugWork()
    {
        Machine.ChargeLock(QueueLock, Machine.ThisCpu, Block.Costs.UnplugNs);
        if (Plugged)
        {
            UnplugsByTimer++;
        }
        GenericUnplugDevice();
    }
}
