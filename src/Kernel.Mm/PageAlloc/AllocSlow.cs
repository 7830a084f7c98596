// Linux 2.6.20 mm/page_alloc.c __alloc_pages from its `rebalance:` label on: the part of an
// allocation that may sleep. cond_resched, then direct reclaim with PF_MEMALLOC set
// (try_to_free_pages, through the IDirectReclaim seam that mm/vmscan.c fills), then either a
// retry of the watermarks (progress), the last pages_high try and out_of_memory (none), or
// congestion_wait(WRITE, HZ/50) and another round for small orders. The synchronous AllocPages
// cannot sleep: inside a synchronous section it records a DirectReclaim wait and fails quietly,
// and the section's owner comes here (SleepFor), then runs its operation again.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Mm;

/// <summary>try_to_free_pages: what the allocator calls to reclaim before it fails.</summary>
public interface IDirectReclaim
{
    /// <summary>
    /// Free pages for an allocation of 2^order with `gfp` from `zonelist`, sleeping as needed (the
    /// caller runs with PF_MEMALLOC). Returns the pages freed (did_some_progress); 0 for none.
    /// </summary>
    ValueTask<long> TryToFreePages(Zone[] zonelist, int order, Gfp gfp);
}

public sealed partial class MemorySubsystem
{
    /// <summary>PAGE_ALLOC_COSTLY_ORDER: above it an allocation does not loop unless __GFP_REPEAT.</summary>
    public const int PAGE_ALLOC_COSTLY_ORDER = 3;

    private MmWait _pending;
    private bool _inSync;
    private bool _mayDefer;

    /// <summary>
    /// The direct reclaim an allocation that may sleep runs (mm/vmscan.c's try_to_free_pages when
    /// reclaim is configured, or a test's). Null: no reclaim, allocations fail as they did.
    /// </summary>
    public IDirectReclaim? DirectReclaim { get; set; }

    /// <summary>The congestion wait queues (mm/backing-dev.c).</summary>
    public BackingDev BackingDev { get; }

    /// <summary>Allocations that slept in direct reclaim, and the pages their reclaim freed.</summary>
    public long AllocStalls { get; private set; }

    public long DirectReclaimed { get; private set; }

    /// <summary>
    /// Begin a synchronous section (a fault or a memory syscall's fast path): paths inside it that
    /// would sleep record why and fail instead. `mayDefer` false says reclaim already failed to
    /// make progress for this operation, so an allocation must now fail for real.
    /// </summary>
    public void BeginSync(bool mayDefer = true)
    {
        if (_inSync)
        {
            throw new KernelBug("nested synchronous memory sections");
        }
        _inSync = true;
        _mayDefer = mayDefer;
        _pending = MmWait.None;
    }

    /// <summary>End the section: what it must sleep for before running again (None if nothing).</summary>
    public MmWait EndSync()
    {
        _inSync = false;
        var w = _pending;
        _pending = MmWait.None;
        return w;
    }

    /// <summary>Whether the open section has recorded a wait (its operation stopped to sleep).</summary>
    public bool HasPendingWait => !_pending.IsNone;

    /// <summary>
    /// Record that the section must sleep for `w`. False when it cannot be deferred (no section
    /// open, or a reclaim that already failed): the caller then does what it would without sleeping.
    /// </summary>
    public bool DeferWait(MmWait w)
    {
        if (!_inSync || (w.Kind == MmWaitKind.DirectReclaim && !_mayDefer))
        {
            return false;
        }
        if (_pending.IsNone)
        {
            _pending = w; // the first wait is the one the operation stopped at
        }
        return true;
    }

    /// <summary>
    /// An order-0 allocation that never stops the open section to reclaim: read-ahead's pages,
    /// which give up where Linux's would stall the reader in reclaim for pages it has not asked
    /// for yet (the reader's own page is allocated, and reclaimed for, as usual). -1 if none.
    /// </summary>
    internal int AllocPageNoReclaim(Gfp gfp)
    {
        bool saved = _mayDefer;
        _mayDefer = false;
        try
        {
            return AllocPages(gfp | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN, 0);
        }
        finally
        {
            _mayDefer = saved;
        }
    }

    /// <summary>
    /// alloc_pages for async kernel paths (kswapd, the block layer, a kernel thread): the fast
    /// path, then, if it must, the sleeping slow path of __alloc_pages. The first pfn, or -1.
    /// </summary>
    public ValueTask<int> AllocPagesAsync(Gfp gfp, int order)
    {
        // Most allocations are served from the free lists: those return without an async frame.
        int pfn = TryAllocPages(gfp, order, mayDefer: true, out var w);
        return pfn >= 0 || w.IsNone ? new ValueTask<int>(pfn) : AllocPagesSleeping(gfp, order, w);
    }

    private async ValueTask<int> AllocPagesSleeping(Gfp gfp, int order, MmWait w)
    {
        while (true)
        {
            bool mayDefer = await SleepFor(w);
            int pfn = TryAllocPages(gfp, order, mayDefer, out w);
            if (pfn >= 0 || w.IsNone)
            {
                return pfn;
            }
        }
    }

    /// <summary>One pass of the allocator as a synchronous section: the pfn, or -1 with what it stopped to wait for.</summary>
    private int TryAllocPages(Gfp gfp, int order, bool mayDefer, out MmWait w)
    {
        BeginSync(mayDefer);
        int pfn = AllocPages(gfp, order);
        w = EndSync();
        return pfn;
    }

    /// <summary>
    /// The sleeping half of a synchronous section that stopped: wait for what it recorded. Returns
    /// whether the operation, run again, may defer again (false after reclaim made no progress).
    /// </summary>
    public async ValueTask<bool> SleepFor(MmWait w)
    {
        switch (w.Kind)
        {
            case MmWaitKind.PageLocked:
                await PageWait.WaitOnPageLocked(Machine, w.Pfn);
                return true;
            case MmWaitKind.MmapSem:
                // Wait for the holder to let go; the operation takes the semaphore itself.
                await w.Sem!.DownRead(Machine);
                w.Sem.UpRead(Machine);
                return true;
            case MmWaitKind.DirectReclaim:
                return await Rebalance(w.Gfp, w.Order);
            case MmWaitKind.PageWriteback:
                await PageWait.WaitOnPageWriteback(Machine, w.Pfn);
                return true;
            case MmWaitKind.BalanceDirty:
                await Writeback.BalanceDirtyPages(w.Mapping!);
                return true;
            default:
                return true;
        }
    }

    /// <summary>__alloc_pages from `rebalance:`; true when the allocation should now succeed.</summary>
    private async ValueTask<bool> Rebalance(Gfp gfp, int order)
    {
        var reclaim = DirectReclaim;
        var zonelist = ZonelistFor(gfp);
        if (reclaim is null || zonelist.Length == 0)
        {
            return false;
        }
        AllocStalls++;
        while (true)
        {
            await Machine.CondResched();
            var p = Machine.RequireExecuting();
            p.Flags |= TaskFlags.PF_MEMALLOC;
            long progress;
            try
            {
                progress = await reclaim.TryToFreePages(zonelist, order, gfp);
            }
            finally
            {
                p.Flags &= ~TaskFlags.PF_MEMALLOC;
            }
            await Machine.CondResched();
            if (progress > 0)
            {
                DirectReclaimed += progress;
                if (WatermarksAllow(gfp, order, zonelist))
                {
                    return true;
                }
            }
            else if ((gfp & Gfp.__GFP_FS) != 0 && (gfp & Gfp.__GFP_NORETRY) == 0)
            {
                // The pages_high try, then out_of_memory(): a victim is killed (or one is still
                // dying), and unless it is this task the allocator gives it a tick to exit before
                // it tries again (goto restart). With nothing to kill the operation runs once more
                // without deferring and fails.
                if (WatermarksAllow(gfp, order, zonelist, high: true))
                {
                    return true;
                }
                if (!Oom.OutOfMemory(gfp, order))
                {
                    return false;
                }
                if ((p.ThreadFlags & ThreadInfoFlags.TIF_MEMDIE) == 0)
                {
                    p.State = TaskState.TASK_UNINTERRUPTIBLE; // schedule_timeout_uninterruptible(1)
                    await Machine.ScheduleTimeout(1);
                }
                return true;
            }
            bool doRetry = (gfp & Gfp.__GFP_NORETRY) == 0
                && (order <= PAGE_ALLOC_COSTLY_ORDER || (gfp & (Gfp.__GFP_REPEAT | Gfp.__GFP_NOFAIL)) != 0);
            if (!doRetry)
            {
                return false;
            }
            await BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, Machine.Hz.Value / 50));
        }
    }

    /// <summary>Would get_page_from_freelist at pages_low (ALLOC_WMARK_LOW), or pages_high, find a zone?</summary>
    private bool WatermarksAllow(Gfp gfp, int order, Zone[] zonelist, bool high = false)
    {
        int classzone = zonelist[0].Index;
        foreach (var z in zonelist)
        {
            if (ZoneWatermarkOk(z, order, high ? z.PagesHigh : z.PagesLow, classzone, high ? AllocFlags.ALLOC_WMARK_HIGH : AllocFlags.ALLOC_WMARK_LOW))
            {
                return true;
            }
        }
        return false;
    }
}
