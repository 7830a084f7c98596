// Linux 2.6.20 include/linux/fs.h struct file_ra_state and the window arithmetic of
// mm/readahead.c: a file's read-ahead state, kept per open file (f_ra) and shared by pread's
// shadows. The current window (start, size) is the pages the reader is in; the ahead window
// (ahead_start, ahead_size) is read while the current one is consumed, so two reads overlap.
// The window starts at four times the first request (rounded to a power of two), grows four-fold
// while small and two-fold after, up to ra_pages, shrinks after a miss, and closes after 256
// pages found cached in a row (RA_FLAG_INCACHE) until a miss reopens it.
namespace Kernel.Mm.Filemap;

/// <summary>struct file_ra_state: one open file's read-ahead windows and statistics.</summary>
public sealed class FileRaState
{
    /// <summary>RA_FLAG_MISS: a page the window should have held was not in the cache.</summary>
    public const int RA_FLAG_MISS = 0x01;

    /// <summary>RA_FLAG_INCACHE: the file is in the cache; read-ahead is off until a miss.</summary>
    public const int RA_FLAG_INCACHE = 0x02;

    /// <summary>VM_MIN_READAHEAD (16 KB) in pages.</summary>
    public const int VM_MIN_READAHEAD_PAGES = 16 * 1024 / MemoryLayout.PAGE_SIZE;

    /// <summary>VM_MAX_CACHE_HIT: cached pages in a row that turn read-ahead off.</summary>
    public const int VM_MAX_CACHE_HIT = 256;

    /// <summary>MMAP_LOTSAMISS: mmap misses beyond the hits after which faults stop reading around.</summary>
    public const int MMAP_LOTSAMISS = 100;

    /// <summary>file_ra_state_init: the maximum window from the backing device, no page read yet.</summary>
    internal FileRaState(int raPages)
    {
        RaPages = raPages;
        PrevPage = -1;
    }

    /// <summary>start: the current window's first page.</summary>
    public long Start { get; internal set; }

    /// <summary>size: the current window's pages (0: no window, random or first access).</summary>
    public long Size { get; internal set; }

    /// <summary>flags: RA_FLAG_MISS and RA_FLAG_INCACHE.</summary>
    public int Flags { get; internal set; }

    /// <summary>cache_hit: pages read ahead that were already cached, in a row.</summary>
    public long CacheHit { get; internal set; }

    /// <summary>prev_page: the page the last read ended in (-1 before the first).</summary>
    public long PrevPage { get; internal set; }

    /// <summary>ahead_start: the ahead window's first page (0: none).</summary>
    public long AheadStart { get; internal set; }

    /// <summary>ahead_size: the ahead window's pages (with ahead_start 0, the end the last one reached).</summary>
    public long AheadSize { get; internal set; }

    /// <summary>ra_pages: the largest window, copied from the backing device when the file was opened.</summary>
    public long RaPages { get; internal set; }

    /// <summary>mmap_hit: faults that found their page cached.</summary>
    public long MmapHit { get; internal set; }

    /// <summary>mmap_miss: faults that did not.</summary>
    public long MmapMiss { get; internal set; }

    // Where a read that stopped to sleep on a page will resume (the emulator's read loop returns
    // and runs again where Linux's sleeps inside it): the page it stopped at, the next page that
    // calls page_cache_readahead, and readahead's own prev_page, so the retry neither reads ahead
    // twice nor looks random.
    internal long ResumeIndex = -1;
    internal long ResumeNextIndex;
    internal long ResumeRaPrevPage;

    // A fault that read around and now waits for its page: its rerun is not a cache hit.
    internal long ReadaroundIndex = -1;

    /// <summary>reset_ahead_window: no ahead window, keeping where the last one ended.</summary>
    internal void ResetAheadWindow()
    {
        AheadSize += AheadStart;
        AheadStart = 0;
    }

    /// <summary>ra_off: no windows (a random access).</summary>
    internal void RaOff()
    {
        Start = 0;
        Flags = 0;
        Size = 0;
        ResetAheadWindow();
    }

    /// <summary>get_init_ra_size: the first window for a request of `size` pages.</summary>
    internal static long InitRaSize(long size, long max)
    {
        long n = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(size, 1));
        return n <= max / 32 ? n * 4 : n <= max / 4 ? n * 2 : max;
    }

    /// <summary>get_next_ra_size: the next ahead window (smaller after a miss, larger otherwise).</summary>
    internal long NextRaSize()
    {
        long max = RaPages;
        long cur = Size;
        long n;
        if ((Flags & RA_FLAG_MISS) != 0)
        {
            Flags &= ~RA_FLAG_MISS;
            n = Math.Max(cur - 2, VM_MIN_READAHEAD_PAGES);
        }
        else
        {
            n = cur < max / 16 ? 4 * cur : 2 * cur;
        }
        return Math.Min(n, max);
    }

    /// <summary>check_ra_success: count pages that were cached already; too many in a row turn read-ahead off.</summary>
    internal bool CheckRaSuccess(long nrToRead, int actual)
    {
        if (actual != 0)
        {
            CacheHit = 0;
            return true;
        }
        CacheHit += nrToRead;
        if (CacheHit >= VM_MAX_CACHE_HIT)
        {
            RaOff();
            Flags |= RA_FLAG_INCACHE;
            return false;
        }
        return true;
    }

    /// <summary>handle_ra_miss: a page the reader wanted was not cached.</summary>
    internal void HandleRaMiss()
    {
        Flags = (Flags | RA_FLAG_MISS) & ~RA_FLAG_INCACHE;
        CacheHit = 0;
    }
}
