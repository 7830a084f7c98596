// Linux 2.6.20 mm/backing-dev.c and include/linux/backing-dev.h: a backing device's congestion
// bits, and congestion_wait, where reclaim and the allocator sleep (in I/O wait) until some
// device leaves write congestion or the timeout passes. A device driver (the block layer's
// request queue) sets and clears the bits; with no device congested, congestion_wait simply
// sleeps its timeout, as Linux's does when no write completes.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Mm;

/// <summary>struct backing_dev_info: the congestion state of one device.</summary>
public sealed class BackingDevInfo
{
    private readonly BackingDev _owner;

    internal BackingDevInfo(BackingDev owner, string name)
    {
        _owner = owner;
        Name = name;
    }

    public string Name { get; }

    /// <summary>VM_MAX_READAHEAD (128 KB) in pages: ra_pages' default.</summary>
    public const int VM_MAX_READAHEAD_PAGES = 128 * 1024 / MemoryLayout.PAGE_SIZE;

    /// <summary>ra_pages: the read-ahead window's maximum (BLKRAGET and BLKRASET show and set it in sectors).</summary>
    public int RaPages { get; set; } = VM_MAX_READAHEAD_PAGES;

    public bool ReadCongested { get; private set; }

    public bool WriteCongested { get; private set; }

    /// <summary>set_bdi_congested.</summary>
    public void SetCongested(int rw)
    {
        if (rw == BackingDev.WRITE)
        {
            WriteCongested = true;
        }
        else
        {
            ReadCongested = true;
        }
    }

    /// <summary>clear_bdi_congested: clear the bit and wake congestion_wait's sleepers for that direction.</summary>
    public void ClearCongested(int rw)
    {
        if (rw == BackingDev.WRITE)
        {
            WriteCongested = false;
        }
        else
        {
            ReadCongested = false;
        }
        _owner.CongestionEnd(rw);
    }
}

/// <summary>The two congestion wait queues (congestion_wqh[READ], [WRITE]) of one kernel.</summary>
public sealed class BackingDev
{
    public const int READ = 0;
    public const int WRITE = 1;

    private readonly Machine _m;
    private readonly WaitQueueHead[] _wqh = { new("congestion_wqh[READ]"), new("congestion_wqh[WRITE]") };

    internal BackingDev(Machine m)
    {
        _m = m;
    }

    /// <summary>A backing_dev_info for a device (its congestion bits wake this kernel's waiters).</summary>
    public BackingDevInfo NewInfo(string name) => new(this, name);

    /// <summary>Tasks sleeping in congestion_wait for `rw` now.</summary>
    public int Waiters(int rw) => _wqh[CheckRw(rw)].Count;

    /// <summary>
    /// congestion_wait: sleep TASK_UNINTERRUPTIBLE in I/O wait for up to `timeoutJiffies`, or until
    /// a device leaves `rw` congestion. Returns the jiffies left.
    /// </summary>
    public async ValueTask<long> CongestionWait(int rw, long timeoutJiffies)
    {
        var wqh = _wqh[CheckRw(rw)];
        wqh.PrepareToWait(_m, TaskState.TASK_UNINTERRUPTIBLE);
        long left = await _m.IoScheduleTimeout(timeoutJiffies);
        wqh.FinishWait(_m);
        return left;
    }

    /// <summary>congestion_end: wake the sleepers of `rw`.</summary>
    public void CongestionEnd(int rw)
    {
        var wqh = _wqh[CheckRw(rw)];
        if (wqh.Count > 0)
        {
            wqh.WakeUp(TaskState.TASK_UNINTERRUPTIBLE, nrExclusive: 1);
        }
    }

    private static int CheckRw(int rw) => rw is READ or WRITE ? rw : throw new ArgumentOutOfRangeException(nameof(rw), rw, "READ (0) or WRITE (1)");
}
