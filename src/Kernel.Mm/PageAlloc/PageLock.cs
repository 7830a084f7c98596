// Linux 2.6.20 mm/filemap.c lock_page / unlock_page / wait_on_page_locked / wait_on_page_writeback over the zone's
// hashed wait table (mm/page_alloc.c wait_table_hash_nr_entries: one queue per 256 pages, a power
// of two between 4 and 4096). A page keeps only its PG_locked bit, never a queue, so struct page
// stays reference-free; waiters of different pages sharing a bucket are told apart by their key
// (wake_bit_function), so unlocking one page does not wake another page's waiters.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;

namespace Kernel.Mm;

public sealed class PageWaitTable
{
    /// <summary>PAGES_PER_WAITQUEUE.</summary>
    public const int PAGES_PER_WAITQUEUE = 256;

    private readonly MemorySubsystem _mem;
    private readonly WaitQueueHead[][] _tables;
    private readonly int[] _bits;

    internal PageWaitTable(MemorySubsystem mem)
    {
        _mem = mem;
        _tables = new WaitQueueHead[mem.Zones.Length][];
        _bits = new int[mem.Zones.Length];
        foreach (var z in mem.Zones)
        {
            int size = EntriesFor(z.SpannedPages);
            _bits[z.Index] = System.Numerics.BitOperations.Log2((uint)size);
            string name = $"{z.Name}.wait_table"; // one name for the zone's buckets: no string per queue
            _tables[z.Index] = Enumerable.Range(0, size).Select(_ => new WaitQueueHead(name)).ToArray();
        }
    }

    /// <summary>wait_table_hash_nr_entries: pages / 256 rounded up to a power of two, clamped to [4, 4096].</summary>
    public static int EntriesFor(long pages)
    {
        long size = 1;
        while (size < pages / PAGES_PER_WAITQUEUE)
        {
            size <<= 1;
        }
        return (int)Math.Clamp(size, 4, 4096);
    }

    /// <summary>The zone's table size (for /proc and tests).</summary>
    public int TableSize(Zone zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return _tables[zone.Index].Length;
    }

    /// <summary>page_waitqueue: the bucket a page's waiters sleep on.</summary>
    public WaitQueueHead QueueOf(int pfn)
    {
        var z = _mem.ZoneOf(pfn);
        // hash_ptr: a multiplicative hash of the page's address, top bits.
        uint h = (uint)pfn * 0x9e370001u;
        return _tables[z.Index][(int)(h >> (32 - _bits[z.Index]))]; // at least 4 buckets: bits >= 2
    }

    private static long KeyOf(int pfn, PageFlag bit = PageFlag.PG_locked) => ((long)pfn << 8) | (long)(uint)bit;

    /// <summary>wait_on_page_writeback: sleep until the page's write ends (end_page_writeback wakes the PG_writeback waiters).</summary>
    public ValueTask WaitOnPageWriteback(Machine m, int pfn)
    {
        ArgumentNullException.ThrowIfNull(m);
        return WaitOnPageBit(m, pfn, PageFlag.PG_writeback, exclusive: false);
    }

    /// <summary>wake_up_page(page, PG_writeback), from end_page_writeback.</summary>
    internal void WakeUpWriteback(int pfn)
    {
        var wq = QueueOf(pfn);
        if (wq.IsActive)
        {
            wq.WakeUpKey(KeyOf(pfn, PageFlag.PG_writeback), TaskState.TASK_UNINTERRUPTIBLE, nrExclusive: 0);
        }
    }

    /// <summary>TestSetPageLocked: take the page lock if it is free.</summary>
    public bool TryLockPage(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (page.Test(PageFlag.PG_locked))
        {
            return false;
        }
        page.Set(PageFlag.PG_locked);
        return true;
    }

    /// <summary>lock_page: sleep TASK_UNINTERRUPTIBLE until this task holds the page lock.</summary>
    public async ValueTask LockPage(Machine m, int pfn)
    {
        ArgumentNullException.ThrowIfNull(m);
        await m.MightSleep();
        while (!TryLockPage(pfn))
        {
            await WaitOnPageLocked(m, pfn, exclusive: true);
        }
    }

    /// <summary>wait_on_page_locked: sleep until the page is unlocked (without taking the lock).</summary>
    public ValueTask WaitOnPageLocked(Machine m, int pfn) => WaitOnPageLocked(m, pfn, exclusive: false);

    private ValueTask WaitOnPageLocked(Machine m, int pfn, bool exclusive) => WaitOnPageBit(m, pfn, PageFlag.PG_locked, exclusive);

    /// <summary>wait_on_page_bit: sleep until `bit` of the page is clear, its backing device told to start the I/O first.</summary>
    private async ValueTask WaitOnPageBit(Machine m, int pfn, PageFlag bit, bool exclusive)
    {
        var wq = QueueOf(pfn);
        long key = KeyOf(pfn, bit);
        while (true)
        {
            wq.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE, exclusive, key);
            if (!_mem.PageAt(pfn).Test(bit))
            {
                break;
            }
            // sync_page: let the page's backing device start the I/O it waits for, then io_schedule.
            if (_mem.PageMapping(pfn) is { } mapping)
            {
                mapping.AOps.SyncPage(_mem, mapping, pfn);
            }
            await m.IoScheduleTimeout(ScheduleTimeoutOps.MAX_SCHEDULE_TIMEOUT);
        }
        wq.FinishWait(m);
    }

    /// <summary>unlock_page: clear PG_locked and wake this page's waiters (one exclusive locker).</summary>
    public void UnlockPage(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (!page.Test(PageFlag.PG_locked))
        {
            throw new KernelBug($"unlock_page: pfn {pfn} is not locked");
        }
        page.Clear(PageFlag.PG_locked);
        var wq = QueueOf(pfn);
        if (wq.IsActive) // wake_up_page -> __wake_up_bit: only a queue with sleepers is walked
        {
            wq.WakeUpKey(KeyOf(pfn), TaskState.TASK_UNINTERRUPTIBLE, nrExclusive: 1);
        }
    }
}
