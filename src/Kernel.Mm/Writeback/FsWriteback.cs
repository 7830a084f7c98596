// Linux 2.6.20 fs/fs-writeback.c writeback_inodes and mm/page-writeback.c write_cache_pages,
// clear_page_dirty_for_io, cancel_dirty_page: the dirty inodes (here their mappings) wait on one
// list, oldest dirtied_when first (the super blocks' s_dirty); a writeback pass takes them in
// turn, writing each one's dirty pages from writeback_index on (range_cyclic) through
// a_ops->writepage until nr_to_write is used up, skipping locked pages (WB_SYNC_NONE) and, for a
// nonblocking pass (pdflush), stopping at a congested queue. A mapping whose last dirty page was
// written leaves the list; one still dirty after kupdate's pass keeps its place, after any other
// pass it goes to the tail with a new dirtied_when (redirty_tail), so every inode gets its turn.
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Writeback;

/// <summary>struct writeback_control.</summary>
public sealed class WritebackControl
{
    /// <summary>bdi: write only mappings of this device (null: all).</summary>
    public BackingDevInfo? Bdi { get; init; }

    /// <summary>nr_to_write: pages left to write; decremented by each page written.</summary>
    public long NrToWrite { get; set; }

    /// <summary>older_than_this: only mappings dirtied at or before these jiffies (kupdate).</summary>
    public uint? OlderThanThis { get; init; }

    /// <summary>nonblocking: do not write to a congested queue.</summary>
    public bool Nonblocking { get; init; }

    public bool ForKupdate { get; init; }

    /// <summary>encountered_congestion: a nonblocking pass stopped at a congested queue.</summary>
    public bool EncounteredCongestion { get; set; }

    /// <summary>pages_skipped: dirty pages not written (locked by someone else).</summary>
    public long PagesSkipped { get; set; }
}

public sealed partial class PageWriteback
{
    private readonly LinkedList<AddressSpace> _dirtyList = new();

    /// <summary>The mappings with dirty pages, oldest dirtied first (for tests and /proc).</summary>
    public IReadOnlyCollection<AddressSpace> DirtyMappings => _dirtyList;

    /// <summary>writeback_inodes: write back dirty mappings, oldest first, within what `wbc` allows.</summary>
    public void WritebackInodes(WritebackControl wbc)
    {
        ArgumentNullException.ThrowIfNull(wbc);
        var node = _dirtyList.First;
        int visited = 0, count = _dirtyList.Count;
        while (node is not null && wbc.NrToWrite > 0 && visited++ < count)
        {
            var mapping = node.Value;
            var next = node.Next;
            if (wbc.Bdi is not null && mapping.BackingDevInfo != wbc.Bdi)
            {
                node = next;
                continue;
            }
            if (wbc.OlderThanThis is uint t && (int)(mapping.DirtiedWhen - t) > 0)
            {
                break; // the list is in dirtied_when order: the rest is younger
            }
            if (wbc.Nonblocking && mapping.BackingDevInfo is { WriteCongested: true })
            {
                wbc.EncounteredCongestion = true;
                node = next;
                continue;
            }
            WriteCachePages(mapping, wbc);
            if (mapping.DirtyIndexes.Count == 0)
            {
                _dirtyList.Remove(node);
                mapping.OnDirtyList = false;
            }
            else if (!wbc.ForKupdate && wbc.NrToWrite <= 0)
            {
                // redirty_tail: the others on the list get their turn first.
                _dirtyList.Remove(node);
                mapping.DirtiedWhen = M.Jiffies;
                _dirtyList.AddLast(node);
            }
            node = next;
        }
    }

    /// <summary>write_cache_pages (WB_SYNC_NONE, range_cyclic) with a_ops->writepage.</summary>
    private void WriteCachePages(AddressSpace mapping, WritebackControl wbc)
    {
        if (mapping.DirtyIndexes.Count == 0)
        {
            return;
        }
        var indexes = mapping.DirtyIndexes.GetViewBetween(mapping.WritebackIndex, long.MaxValue).ToList();
        if (mapping.WritebackIndex > 0)
        {
            indexes.AddRange(mapping.DirtyIndexes.GetViewBetween(long.MinValue, mapping.WritebackIndex - 1));
        }
        foreach (long index in indexes)
        {
            if (wbc.NrToWrite <= 0)
            {
                break;
            }
            int pfn = mapping.FindPage(index);
            if (pfn < 0 || !_mem.PageWait.TryLockPage(pfn))
            {
                wbc.PagesSkipped++;
                continue;
            }
            ref var page = ref _mem.PageAt(pfn);
            if (page.Test(PageFlag.PG_writeback) || !ClearPageDirtyForIo(mapping, pfn))
            {
                _mem.PageWait.UnlockPage(pfn);
                continue;
            }
            int ret = mapping.AOps.WritePage(_mem, mapping, pfn);
            _mem.PageWait.UnlockPage(pfn);
            mapping.WritebackIndex = index + 1;
            if (ret == AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE)
            {
                wbc.PagesSkipped++; // redirtied: no bio for it now
                continue;
            }
            wbc.NrToWrite--;
            if (wbc.Nonblocking && mapping.BackingDevInfo is { WriteCongested: true })
            {
                wbc.EncounteredCongestion = true;
                break;
            }
        }
        if (mapping.DirtyIndexes.Count > 0 && mapping.WritebackIndex > mapping.DirtyIndexes.Max)
        {
            mapping.WritebackIndex = 0; // the cycle starts again at the front
        }
    }

    /// <summary>
    /// clear_page_dirty_for_io: the page is about to be written; make it clean, and its shared
    /// PTEs clean and read-only (page_mkclean: a write through them after this dirties it again,
    /// so nothing written during the I/O is lost). True if it was dirty.
    /// </summary>
    public bool ClearPageDirtyForIo(AddressSpace mapping, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        ref var page = ref _mem.PageAt(pfn);
        if (mapping.AOps.CapAccountDirty && page.Mapping == mapping.Handle)
        {
            if (_mem.Rmap.PageMkclean(pfn))
            {
                mapping.AOps.SetPageDirty(_mem, mapping, pfn);
            }
            if (page.Test(PageFlag.PG_dirty))
            {
                page.Clear(PageFlag.PG_dirty);
                AccountPageCleaned(mapping, page.Index);
                return true;
            }
            return false;
        }
        bool was = page.Test(PageFlag.PG_dirty);
        page.Clear(PageFlag.PG_dirty);
        return was;
    }

    /// <summary>cancel_dirty_page: the page leaves the cache (truncate, reclaim) dirty or not; its dirty accounting goes.</summary>
    internal void CancelDirtyPage(AddressSpace mapping, int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (page.Test(PageFlag.PG_dirty))
        {
            page.Clear(PageFlag.PG_dirty);
            AccountPageCleaned(mapping, page.Index);
        }
        if (mapping.OnDirtyList && mapping.DirtyIndexes.Count == 0)
        {
            _dirtyList.Remove(mapping);
            mapping.OnDirtyList = false;
        }
    }

    /// <summary>Dirty accounting invariants: NR_FILE_DIRTY is the dirty pages of accounting mappings, each tagged, their mappings listed.</summary>
    internal IEnumerable<string> CheckInvariants(IEnumerable<AddressSpace> spaces)
    {
        long dirty = 0, writeback = 0;
        foreach (var space in spaces)
        {
            bool accounted = space.AOps.CapAccountDirty;
            foreach (var (index, pfn) in space.PageTree)
            {
                ref var page = ref _mem.PageAt(pfn);
                writeback += page.Test(PageFlag.PG_writeback) ? 1 : 0;
                if (!accounted)
                {
                    continue;
                }
                bool isDirty = page.Test(PageFlag.PG_dirty);
                dirty += isDirty ? 1 : 0;
                if (isDirty != space.DirtyIndexes.Contains(index))
                {
                    yield return $"{space.Host.Name}: page {index} dirty {isDirty} but tagged {!isDirty}";
                }
            }
            if (accounted && space.DirtyIndexes.Count > 0 && !space.OnDirtyList)
            {
                yield return $"{space.Host.Name}: {space.DirtyIndexes.Count} dirty pages but not on the dirty list";
            }
        }
        if (dirty != NrFileDirty)
        {
            yield return $"NR_FILE_DIRTY is {NrFileDirty} but {dirty} accounted pages are dirty";
        }
        if (writeback != NrWriteback)
        {
            yield return $"NR_WRITEBACK is {NrWriteback} but {writeback} cached pages are under writeback";
        }
    }
}
