// Linux 2.6.20 mm/vmscan.c kswapd and balance_pgdat: one kernel thread per node sleeps (on
// pgdat->kswapd_wait in Linux; here in TASK_INTERRUPTIBLE, woken directly, as it is the queue's
// only sleeper) until an allocation finds a zone below pages_low (wakeup_kswapd), then scans
// the node's zones from DMA up to the highest one below pages_high, priority 12 down to 0, until
// every zone is back above pages_high; a zone scanned six times over without a page freed is
// marked all_unreclaimable and only polled after that. Its scans count as pgscan_kswapd and its
// frees as kswapd_steal; it runs with PF_MEMALLOC (it may dip into the reserves) and PF_SWAPWRITE.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Mm.Vmscan;

public sealed partial class PageReclaim
{
    private TaskStruct? _kswapd;

    /// <summary>pgdat->kswapd_max_order: the largest order an allocator woke kswapd for.</summary>
    public int KswapdMaxOrder { get; private set; }

    /// <summary>Times kswapd was woken from its sleep.</summary>
    public long KswapdWakeups { get; private set; }

    /// <summary>The kswapd0 thread, once started.</summary>
    public TaskStruct? Kswapd => _kswapd;

    /// <summary>
    /// Start kswapd0 (host-side set-up at boot: kernel threads are made from the host). It is
    /// created asleep, as Linux's kswapd is long asleep when the first program runs; its first
    /// wake-up starts it straight into balance_pgdat.
    /// </summary>
    public void StartKswapd()
    {
        _kswapd ??= M.KthreadCreate("kswapd0", KswapdMain, wake: _ops.KswapdTimeout > 0); // (2.4.0's kswapd works once a second from boot)
    }

    private async ValueTask KswapdMain(TaskStruct self)
    {
        self.Flags |= TaskFlags.PF_MEMALLOC | TaskFlags.PF_SWAPWRITE | TaskFlags.PF_KSWAPD;
        int order = KswapdMaxOrder; // woken for the first time: balance at once
        KswapdMaxOrder = 0;
        while (true)
        {
            await _ops.KswapdPeriodic();
            long freed = _ops.BalancesWatermarks ? await BalancePgdat(order) : 0;
            if (_mem.Tracepoints.KswapdSleep.Enabled)
            {
                _mem.Tracepoints.KswapdSleep.Emit(new MmVmscanKswapd(M.Now, M.ThisCpu.Id, "", order, Sleep: true, freed));
            }
            // prepare_to_wait(&pgdat->kswapd_wait) ... schedule(): the wake-up is wake_up_process
            // of this thread (equivalent: kswapd is the queue's only sleeper).
            self.State = TaskState.TASK_INTERRUPTIBLE;
            int newOrder = KswapdMaxOrder;
            KswapdMaxOrder = 0;
            if (order < newOrder)
            {
                order = newOrder; // someone wants a larger order: do not sleep
                self.State = TaskState.TASK_RUNNING;
            }
            else
            {
                long timeout = _ops.KswapdTimeout; // 2.4.0's kswapd also woke once a second
                if (timeout > 0)
                {
                    await M.ScheduleTimeout(timeout);
                }
                else
                {
                    await M.Schedule();
                }
                order = KswapdMaxOrder;
                KswapdMaxOrder = 0;
            }
        }
    }

    /// <summary>Wake kswapd if it sleeps (a design whose kswapd has periodic work was switched to).</summary>
    internal void KickKswapd()
    {
        if (_kswapd is { State: TaskState.TASK_INTERRUPTIBLE })
        {
            M.WakeUpProcess(_kswapd);
        }
    }

    /// <summary>wakeup_kswapd: `zone` fell below pages_low for an allocation of `order`.</summary>
    public void WakeupKswapd(Zone zone, int order)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (zone.PresentPages == 0 || _kswapd is null)
        {
            return;
        }
        if (_mem.ZoneWatermarkOk(zone, order, zone.PagesLow, 0, 0))
        {
            return;
        }
        if (KswapdMaxOrder < order)
        {
            KswapdMaxOrder = order;
        }
        if (_kswapd.State != TaskState.TASK_INTERRUPTIBLE)
        {
            return; // !waitqueue_active: kswapd is at work already
        }
        KswapdWakeups++;
        if (_mem.Tracepoints.KswapdWake.Enabled)
        {
            _mem.Tracepoints.KswapdWake.Emit(new MmVmscanKswapd(M.Now, M.ThisCpu.Id, zone.Name, order, Sleep: false, 0));
        }
        M.WakeUpProcess(_kswapd);
    }

    /// <summary>balance_pgdat: reclaim until every zone of the node is above pages_high. Returns the pages freed.</summary>
    private async ValueTask<long> BalancePgdat(int order)
    {
        var zones = _mem.Zones;
        var temp = new int[zones.Length];
        long total = 0;
        while (true)
        {
            long totalScanned = 0, reclaimed = 0;
            var sc = new ScanControl { GfpMask = Gfp.GFP_KERNEL, Swappiness = Swappiness, IsKswapd = true };
            PageoutRun++;
            Array.Fill(temp, DEF_PRIORITY);
            bool allZonesOk = true;
            for (int priority = DEF_PRIORITY; priority >= 0; priority--)
            {
                allZonesOk = true;
                int endZone = -1;
                for (int i = zones.Length - 1; i >= 0; i--)
                {
                    var z = zones[i];
                    if (z.PresentPages == 0 || (z.AllUnreclaimable && priority != DEF_PRIORITY))
                    {
                        continue;
                    }
                    if (!_mem.ZoneWatermarkOk(z, order, z.PagesHigh, 0, 0))
                    {
                        endZone = i;
                        break;
                    }
                }
                if (endZone < 0)
                {
                    break;
                }
                long lruPages = 0;
                for (int i = 0; i <= endZone; i++)
                {
                    lruPages += zones[i].NrActive + zones[i].NrInactive;
                }
                for (int i = 0; i <= endZone; i++)
                {
                    var z = zones[i];
                    if (z.PresentPages == 0 || (z.AllUnreclaimable && priority != DEF_PRIORITY))
                    {
                        continue;
                    }
                    if (!_mem.ZoneWatermarkOk(z, order, z.PagesHigh, endZone, 0))
                    {
                        allZonesOk = false;
                    }
                    temp[i] = priority;
                    sc.NrScanned = 0;
                    NoteZoneScanningPriority(z, priority);
                    reclaimed += await ShrinkZone(priority, z, sc);
                    long nrSlab = ShrinkSlab(sc.NrScanned, Gfp.GFP_KERNEL, lruPages, out long reclaimedSlab);
                    reclaimed += reclaimedSlab;
                    totalScanned += sc.NrScanned;
                    if (z.AllUnreclaimable)
                    {
                        continue;
                    }
                    if (nrSlab == 0 && z.PagesScanned >= (z.NrActive + z.NrInactive) * 6)
                    {
                        z.AllUnreclaimable = true; // nothing on the lists and no shrinker freed anything
                    }
                    if (totalScanned > SWAP_CLUSTER_MAX * 2 && totalScanned > reclaimed + reclaimed / 2)
                    {
                        sc.MayWritepage = true;
                    }
                }
                if (allZonesOk)
                {
                    break;
                }
                if (totalScanned > 0 && priority < DEF_PRIORITY - 2)
                {
                    await _mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, M.Hz.Value / 10));
                }
                if (reclaimed >= SWAP_CLUSTER_MAX)
                {
                    break;
                }
            }
            for (int i = 0; i < zones.Length; i++)
            {
                zones[i].PrevPriority = temp[i];
            }
            total += reclaimed;
            if (allZonesOk)
            {
                return total;
            }
            await M.CondResched();
        }
    }
}
