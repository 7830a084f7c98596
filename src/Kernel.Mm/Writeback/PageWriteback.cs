// Linux 2.6.20 mm/page-writeback.c: dirty page accounting and the throttling of dirtiers.
// get_dirty_limits turns dirty_background_ratio and dirty_ratio (/proc/sys/vm, percent of memory,
// dirty_ratio capped at half the unmapped share and never below 5) into page counts;
// balance_dirty_pages_ratelimited lets a task dirty ratelimit_pages (8 once the limit was
// exceeded) before it checks; balance_dirty_pages then makes the dirtier write back pages itself
// (writeback_inodes, 1.5 × ratelimit_pages at a time) and sleep in congestion_wait until dirty
// plus writeback pages are under the limit, and starts pdflush's background_writeout above the
// background limit. wb_kupdate, every dirty_writeback_centisecs, writes back what has been dirty
// longer than dirty_expire_centisecs.
using Kernel.Core;
using Kernel.Core.Time;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Writeback;

public sealed partial class PageWriteback
{
    /// <summary>MAX_WRITEBACK_PAGES: what one pdflush pass writes before it looks again.</summary>
    public const int MAX_WRITEBACK_PAGES = 1024;

    private readonly MemorySubsystem _mem;
    private readonly long[] _bdpRatelimits;
    private readonly KTimer _wbTimer;

    internal PageWriteback(MemorySubsystem mem)
    {
        _mem = mem;
        _bdpRatelimits = new long[mem.Machine.Cpus.Length];
        // set_ratelimit: a 32nd of memory per CPU, at least 16 pages, at most 4 MB.
        long r = mem.TotalRamPages / (mem.Machine.Cpus.Length * 32L);
        RatelimitPages = Math.Clamp(r, 16, 4096 * 1024 / MemoryLayout.PAGE_SIZE);
        _wbTimer = new KTimer(_ => WbTimerFn(), this);
    }

    /// <summary>dirty_background_ratio (percent): above it pdflush writes back in the background.</summary>
    public int DirtyBackgroundRatio { get; set; } = 10;

    /// <summary>vm_dirty_ratio (percent): above it a dirtier writes back itself and waits.</summary>
    public int DirtyRatio { get; set; } = 40;

    /// <summary>dirty_writeback_centisecs: wb_kupdate's period (0: never).</summary>
    public int DirtyWritebackCentisecs { get; set; } = 500;

    /// <summary>dirty_expire_centisecs: how old dirty data must be for wb_kupdate to write it.</summary>
    public int DirtyExpireCentisecs { get; set; } = 3000;

    /// <summary>ratelimit_pages.</summary>
    public long RatelimitPages { get; }

    /// <summary>dirty_exceeded: a dirtier found the limit exceeded (the ratelimit drops to 8 pages).</summary>
    public bool DirtyExceeded { get; private set; }

    /// <summary>NR_FILE_DIRTY: dirty pages of mappings that account dirty pages (not tmpfs, not the swap cache).</summary>
    public long NrFileDirty { get; private set; }

    /// <summary>NR_WRITEBACK: pages under writeback (file and swap).</summary>
    public long NrWriteback { get; private set; }

    /// <summary>Times balance_dirty_pages found the limit exceeded, slept in congestion_wait, and pages it wrote for its dirtiers.</summary>
    public long BalanceDirtyThrottled { get; private set; }

    public long BalanceDirtyWaits { get; private set; }

    public long BalanceDirtyWritten { get; private set; }

    /// <summary>Runs of background_writeout and wb_kupdate, and the pages they wrote.</summary>
    public long BackgroundRuns { get; private set; }

    public long KupdateRuns { get; private set; }

    public long PdflushWritten { get; private set; }

    private Machine M => _mem.Machine;

    /// <summary>get_dirty_limits: (background, dirty) thresholds in pages for the current task.</summary>
    public (long Background, long Dirty) GetDirtyLimits()
    {
        long total = Math.Max(1, _mem.TotalRamPages);
        long availableMemory = total;
        long unmappedRatio = 100 - (_mem.NrFileMapped + _mem.NrAnonPages) * 100 / total;
        long dirtyRatio = DirtyRatio;
        if (dirtyRatio > unmappedRatio / 2)
        {
            dirtyRatio = unmappedRatio / 2;
        }
        if (dirtyRatio < 5)
        {
            dirtyRatio = 5;
        }
        long backgroundRatio = DirtyBackgroundRatio;
        if (backgroundRatio >= dirtyRatio)
        {
            backgroundRatio = dirtyRatio / 2;
        }
        long background = backgroundRatio * availableMemory / 100;
        long dirty = dirtyRatio * availableMemory / 100;
        if (M.ThisCpu.Curr.Prio < 100) // rt_task: real-time dirtiers get a quarter more
        {
            background += background / 4;
            dirty += dirty / 4;
        }
        return (background, dirty);
    }

    /// <summary>
    /// balance_dirty_pages_ratelimited_nr's check: count `nrPagesDirtied` on this CPU; true when the
    /// task has dirtied its ratelimit and must run balance_dirty_pages (the counter is reset).
    /// </summary>
    public bool RatelimitExceeded(long nrPagesDirtied)
    {
        long ratelimit = DirtyExceeded ? 8 : RatelimitPages;
        ref long n = ref _bdpRatelimits[M.ThisCpu.Id];
        n += nrPagesDirtied;
        if (n < ratelimit)
        {
            return false;
        }
        n = 0;
        return true;
    }

    /// <summary>balance_dirty_pages: write back and wait until dirty + writeback pages are under the dirty limit.</summary>
    public async ValueTask BalanceDirtyPages(AddressSpace mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        long writeChunk = RatelimitPages + RatelimitPages / 2; // sync_writeback_pages
        long pagesWritten = 0;
        var (background, dirty) = GetDirtyLimits();
        while (true)
        {
            if (NrFileDirty + NrWriteback <= dirty)
            {
                break;
            }
            if (!DirtyExceeded)
            {
                DirtyExceeded = true;
            }
            BalanceDirtyThrottled++;
            if (NrFileDirty > 0)
            {
                var wbc = new WritebackControl { Bdi = mapping.BackingDevInfo, NrToWrite = writeChunk };
                WritebackInodes(wbc);
                long wrote = writeChunk - wbc.NrToWrite;
                BalanceDirtyWritten += wrote;
                (background, dirty) = GetDirtyLimits();
                if (NrFileDirty + NrWriteback <= dirty)
                {
                    break;
                }
                pagesWritten += wrote;
                if (pagesWritten >= writeChunk)
                {
                    break; // we've done our duty
                }
            }
            BalanceDirtyWaits++;
            await _mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, M.Hz.Value / 10));
        }
        if (NrFileDirty + NrWriteback <= dirty && DirtyExceeded)
        {
            DirtyExceeded = false;
        }
        if (_writebackInProgress)
        {
            return; // pdflush is already getting things moving
        }
        if (NrFileDirty > background)
        {
            PdflushOperation(BackgroundWriteout, 0);
        }
    }

    private bool _writebackInProgress;

    /// <summary>background_writeout (pdflush): write back until under the background limit and `minPages` are written.</summary>
    private async ValueTask BackgroundWriteout(long minPages)
    {
        BackgroundRuns++;
        _writebackInProgress = true;
        try
        {
            while (true)
            {
                var (background, _) = GetDirtyLimits();
                if (NrFileDirty < background && minPages <= 0)
                {
                    break;
                }
                var wbc = new WritebackControl { NrToWrite = MAX_WRITEBACK_PAGES, Nonblocking = true };
                WritebackInodes(wbc);
                long wrote = MAX_WRITEBACK_PAGES - wbc.NrToWrite;
                PdflushWritten += wrote;
                minPages -= wrote;
                if (wbc.NrToWrite > 0 || wbc.PagesSkipped > 0)
                {
                    // Wrote less than expected: wait for the queue, stop if it was not congestion.
                    await _mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, M.Hz.Value / 10));
                    if (!wbc.EncounteredCongestion)
                    {
                        break;
                    }
                }
                await M.CondResched();
            }
        }
        finally
        {
            _writebackInProgress = false;
        }
    }

    /// <summary>wb_kupdate (pdflush): write back the data dirty for longer than dirty_expire_centisecs, then re-arm the timer.</summary>
    private async ValueTask WbKupdate(long unused)
    {
        KupdateRuns++;
        uint start = M.Jiffies;
        uint oldest = unchecked(start - (uint)CentisecsToJiffies(DirtyExpireCentisecs));
        long nrToWrite = NrFileDirty;
        while (nrToWrite > 0)
        {
            var wbc = new WritebackControl { NrToWrite = MAX_WRITEBACK_PAGES, Nonblocking = true, OlderThanThis = oldest, ForKupdate = true };
            WritebackInodes(wbc);
            long wrote = MAX_WRITEBACK_PAGES - wbc.NrToWrite;
            PdflushWritten += wrote;
            if (wbc.NrToWrite > 0)
            {
                if (!wbc.EncounteredCongestion)
                {
                    break; // all the old data is written
                }
                await _mem.BackingDev.CongestionWait(BackingDev.WRITE, Math.Max(1, M.Hz.Value / 10));
            }
            nrToWrite -= wrote;
            await M.CondResched();
        }
        ArmWbTimer(start);
    }

    private long CentisecsToJiffies(int cs) => (long)cs * M.Hz.Value / 100;

    /// <summary>
    /// wb_kupdate's mod_timer: next at start + dirty_writeback_interval, at least a second from now.
    /// The timer is armed only while accounted dirty pages exist (an idle machine stays quiet, as
    /// later kernels' flusher threads do; 2.6.20's timer ticks for ever).
    /// </summary>
    private void ArmWbTimer(uint start)
    {
        if (DirtyWritebackCentisecs == 0 || NrFileDirty == 0)
        {
            return;
        }
        uint next = unchecked(start + (uint)CentisecsToJiffies(DirtyWritebackCentisecs));
        uint minNext = unchecked(M.Jiffies + (uint)M.Hz.Value);
        if ((int)(next - minNext) < 0)
        {
            next = minNext;
        }
        _wbTimer.Mod(M, next);
    }

    /// <summary>wb_timer_fn: hand wb_kupdate to a pdflush thread, or try again in a second.</summary>
    private void WbTimerFn()
    {
        if (!PdflushOperation(WbKupdate, 0))
        {
            _wbTimer.Mod(M, unchecked(M.Jiffies + (uint)M.Hz.Value));
        }
    }

    // ------------------------------------------------------------------ accounting

    /// <summary>
    /// __set_page_dirty_nobuffers' accounting: a clean page of an accounting mapping became dirty
    /// (NR_FILE_DIRTY, the dirty tag, the inode on the dirty list with dirtied_when).
    /// </summary>
    internal void AccountPageDirtied(AddressSpace mapping, int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (page.Mapping != mapping.Handle || !mapping.AOps.CapAccountDirty)
        {
            return;
        }
        if (!mapping.DirtyIndexes.Add(page.Index))
        {
            return;
        }
        NrFileDirty++;
        if (!mapping.OnDirtyList)
        {
            mapping.OnDirtyList = true;
            mapping.DirtiedWhen = M.Jiffies;
            _dirtyList.AddLast(mapping);
        }
        if (!_wbTimer.Pending && DirtyWritebackCentisecs != 0 && _pdflush.Count > 0)
        {
            ArmWbTimer(M.Jiffies);
        }
    }

    /// <summary>The accounting half of clear_page_dirty_for_io and cancel_dirty_page: the page is clean now.</summary>
    internal void AccountPageCleaned(AddressSpace mapping, long index)
    {
        if (mapping.DirtyIndexes.Remove(index))
        {
            NrFileDirty--;
        }
    }

    /// <summary>test_set_page_writeback's NR_WRITEBACK.</summary>
    internal void AccountWritebackStart() => NrWriteback++;

    /// <summary>test_clear_page_writeback's NR_WRITEBACK.</summary>
    internal void AccountWritebackEnd() => NrWriteback--;
}
