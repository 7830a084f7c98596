// Linux 2.6.20 mm/readahead.c: reading a file's pages before they are asked for.
// page_cache_readahead runs as a read reaches the first page of each window: a first sequential
// read opens a window, later ones open the ahead window and shift into it, a random read turns
// the windows off and reads only what it asked for. __do_page_cache_readahead allocates the
// absent pages, puts them in the cache locked and starts their reads through a_ops.readpage (the
// device's plugged queue merges neighbours into one request); the reader then finds them under
// I/O and waits on the page lock as for any read. filemap_nopage's read-around (ra_pages centred
// on a fault) and madvise(MADV_WILLNEED) / readahead(2) (force_page_cache_readahead) use the same
// core. Read-ahead's own allocations never stop to reclaim (a deviation: see AllocPageNoReclaim).
using Kernel.Core;

namespace Kernel.Mm.Filemap;

public static class Readahead
{
    /// <summary>page_cache_alloc_cold's mask.</summary>
    private const Gfp RaGfp = Gfp.GFP_HIGHUSER | Gfp.__GFP_COLD;

    /// <summary>
    /// __do_page_cache_readahead: start reading the absent pages of [offset, offset + nr) below
    /// i_size. Returns the pages it started (0 when all were cached).
    /// </summary>
    public static int DoReadahead(MemorySubsystem mem, AddressSpace mapping, long offset, long nrToRead)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentNullException.ThrowIfNull(mapping);
        long isize = mapping.Host.Size;
        if (isize == 0 || nrToRead <= 0)
        {
            return 0;
        }
        long endIndex = (isize - 1) >> MemoryLayout.PAGE_SHIFT;
        int started = 0;
        for (long i = offset; i < offset + nrToRead && i <= endIndex; i++)
        {
            if (mapping.FindPage(i) >= 0)
            {
                continue;
            }
            int pfn = mem.AllocPageNoReclaim(RaGfp);
            if (pfn < 0)
            {
                break;
            }
            GenericFile.InsertPage(mem, mapping, i, pfn);
            mem.PageWait.TryLockPage(pfn); // a new page: the lock is free
            if (mapping.AOps.ReadPage(mem, mapping, pfn) < 0)
            {
                // Linux leaves the page for the reader's own readpage; here the reader reads a
                // page it finds absent, so the failed one leaves the cache.
                if (mem.PageAt(pfn).Test(PageFlag.PG_locked))
                {
                    mem.PageWait.UnlockPage(pfn);
                }
                GenericFile.RemoveFromPageCache(mem, mapping, i, pfn);
                break;
            }
            started++;
        }
        return started;
    }

    /// <summary>do_page_cache_readahead: DoReadahead unless the device is read-congested (-1 then).</summary>
    public static int DoPageCacheReadahead(MemorySubsystem mem, AddressSpace mapping, long offset, long nrToRead)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return mapping.BackingDevInfo is { ReadCongested: true } ? -1 : DoReadahead(mem, mapping, offset, nrToRead);
    }

    /// <summary>
    /// force_page_cache_readahead (madvise WILLNEED, readahead(2)): read [offset, offset + nr) in
    /// 2 MB chunks whatever the windows say. The pages started, or -EINVAL for a mapping whose
    /// pages are not read from anywhere (tmpfs).
    /// </summary>
    public static long ForcePageCacheReadahead(MemorySubsystem mem, AddressSpace mapping, long offset, long nrToRead)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (!mapping.AOps.ReadsFromBackingStore)
        {
            return Errno.EINVAL.Ret();
        }
        const long chunk = (2 << 20) / MemoryLayout.PAGE_SIZE;
        long ret = 0;
        while (nrToRead > 0)
        {
            long n = Math.Min(chunk, nrToRead);
            ret += DoReadahead(mem, mapping, offset, n);
            offset += n;
            nrToRead -= n;
        }
        return ret;
    }

    /// <summary>max_sane_readahead: no more than half the node's inactive and free pages.</summary>
    public static long MaxSaneReadahead(MemorySubsystem mem, long nr)
    {
        ArgumentNullException.ThrowIfNull(mem);
        long inactive = 0, free = 0;
        foreach (var z in mem.Zones)
        {
            inactive += z.NrInactive;
            free += z.FreePages;
        }
        return Math.Min(nr, (inactive + free) / 2);
    }

    private static bool Blockable(MemorySubsystem mem, AddressSpace mapping, FileRaState ra, long offset, long nr, bool block)
    {
        if (!block && mapping.BackingDevInfo is { ReadCongested: true })
        {
            return false;
        }
        int actual = DoReadahead(mem, mapping, offset, nr);
        return ra.CheckRaSuccess(nr, actual);
    }

    private static bool MakeAheadWindow(MemorySubsystem mem, AddressSpace mapping, FileRaState ra, bool force)
    {
        ra.AheadSize = ra.NextRaSize();
        ra.AheadStart = ra.Start + ra.Size;
        bool block = force || ra.PrevPage >= ra.AheadStart;
        bool ok = Blockable(mem, mapping, ra, ra.AheadStart, ra.AheadSize, block);
        if (!ok && !force)
        {
            // All cached, or the device is congested: try again at the next window.
            ra.ResetAheadWindow();
        }
        return ok;
    }

    /// <summary>
    /// page_cache_readahead: a read of `reqSize` pages from `offset` moves the windows and starts
    /// their reads. Returns the page at which the reader calls again (the end of what the current
    /// windows cover).
    /// </summary>
    public static long PageCacheReadahead(MemorySubsystem mem, AddressSpace mapping, FileRaState ra, long offset, long reqSize)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        ArgumentNullException.ThrowIfNull(ra);
        if (offset == ra.PrevPage && --reqSize != 0)
        {
            ++offset; // the rest of a page read before: not a new access
        }
        bool sequential = offset == ra.PrevPage + 1;
        ra.PrevPage = offset;
        long max = ra.RaPages;
        long newsize = Math.Min(reqSize, max);
        if (newsize <= 0 || (ra.Flags & FileRaState.RA_FLAG_INCACHE) != 0)
        {
            return ra.PrevPage + 1;
        }
        ra.PrevPage += newsize - 1;
        if (sequential && ra.Size == 0)
        {
            // The first sequential read (or the first read at the start of the file): a window
            // a few times the request, and with a request as large as the maximum, the ahead
            // window at once so that two reads are in flight.
            ra.Size = FileRaState.InitRaSize(newsize, max);
            ra.Start = offset;
            if (Blockable(mem, mapping, ra, offset, ra.Size, block: true) && reqSize >= max)
            {
                MakeAheadWindow(mem, mapping, ra, force: true);
            }
            return ra.PrevPage + 1;
        }
        if (!sequential)
        {
            ra.RaOff();
            Blockable(mem, mapping, ra, offset, newsize, block: true);
            return ra.PrevPage + 1;
        }
        if (ra.AheadStart == 0 && !MakeAheadWindow(mem, mapping, ra, force: false))
        {
            ra.PrevPage = Math.Min(ra.PrevPage, ra.AheadStart + ra.AheadSize - 1);
            return ra.PrevPage + 1;
        }
        if (ra.PrevPage >= ra.AheadStart)
        {
            // The reader crossed into the ahead window: it becomes current, and the next one is read.
            ra.Start = ra.AheadStart;
            ra.Size = ra.AheadSize;
            MakeAheadWindow(mem, mapping, ra, force: false);
            ra.PrevPage = Math.Min(ra.PrevPage, ra.AheadStart + ra.AheadSize - 1);
        }
        return ra.PrevPage + 1;
    }
}
