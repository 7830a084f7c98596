// Linux 2.6.20 mm/filemap.c, the generic page-cache code that works for any file system through
// its a_ops: find_get_page / add_to_page_cache / page_cache_read, do_generic_mapping_read (the
// read loop), generic_file_buffered_write (grab_cache_page, prepare_write, copy, commit_write),
// and filemap_nopage with generic_file_vm_ops. Copies to and from the program go through
// Uaccess, so a bad buffer ends the loop with -EFAULT (or the bytes done so far), never a signal.
using Kernel.Core;
using Kernel.Mm.Arch;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Filemap;

public static class GenericFile
{
    /// <summary>
    /// add_to_page_cache_lru: a new page at `index` of `mapping`, not yet uptodate, with the
    /// cache's reference, on its way to the inactive list. -1 when no memory.
    /// </summary>
    public static int AddToPageCache(MemorySubsystem mem, AddressSpace mapping, long index, Gfp gfp = Gfp.GFP_HIGHUSER)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentNullException.ThrowIfNull(mapping);
        int pfn = mem.AllocPages(gfp, 0);
        if (pfn >= 0)
        {
            InsertPage(mem, mapping, index, pfn);
        }
        return pfn;
    }

    /// <summary>add_to_page_cache_lru of a page already allocated.</summary>
    internal static void InsertPage(MemorySubsystem mem, AddressSpace mapping, long index, int pfn)
    {
        ref var page = ref mem.PageAt(pfn);
        page.Mapping = mapping.Handle;
        page.Index = index;
        mapping.PageTree.Add(index, pfn);
        mem.NrFilePages++;
        mem.LruCacheAdd(pfn);
    }

    /// <summary>remove_from_page_cache + page_cache_release: the page leaves the cache.</summary>
    public static void RemoveFromPageCache(MemorySubsystem mem, AddressSpace mapping, long index, int pfn)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentNullException.ThrowIfNull(mapping);
        mem.Writeback.CancelDirtyPage(mapping, pfn);
        mapping.PageTree.Remove(index);
        mem.NrFilePages--;
        ref var page = ref mem.PageAt(pfn);
        page.Mapping = 0;
        page.Clear(PageFlag.PG_uptodate);
        mem.PutPage(pfn);
    }

    /// <summary>
    /// find_get_page, else page_cache_read: the uptodate cache page at `index`, read in through
    /// a_ops.readpage when absent (`major` then reports the I/O). A page whose read is still in
    /// flight (locked, not uptodate) cannot be waited for here: the caller's synchronous section
    /// records the wait and this returns -EIOCBRETRY, so the caller sleeps and tries again.
    /// -ENOMEM, -EIO (the read failed), or readpage's -errno.
    /// </summary>
    public static int ReadCachePage(MemorySubsystem mem, AddressSpace mapping, long index, out bool major) =>
        ReadCachePage(mem, mapping, index, null, out major);

    /// <summary>ReadCachePage for a reader with read-ahead state: a page it finds absent is a read-ahead miss (handle_ra_miss).</summary>
    internal static int ReadCachePage(MemorySubsystem mem, AddressSpace mapping, long index, FileRaState? ra, out bool major)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentNullException.ThrowIfNull(mapping);
        major = false;
        int pfn = mapping.FindPage(index);
        if (pfn < 0)
        {
            ra?.HandleRaMiss();
            // page_cache_read: a new locked page in the cache, then ->readpage.
            pfn = AddToPageCache(mem, mapping, index);
            if (pfn < 0)
            {
                return (int)Errno.ENOMEM.Ret();
            }
            major = true;
            mem.Reclaim?.PageRefault(mapping.Handle, index, pfn);
            mem.PageWait.TryLockPage(pfn); // a new page: the lock is free
            int err = mapping.AOps.ReadPage(mem, mapping, pfn);
            if (err < 0)
            {
                if (mem.PageAt(pfn).Test(PageFlag.PG_locked))
                {
                    mem.PageWait.UnlockPage(pfn);
                }
                RemoveFromPageCache(mem, mapping, index, pfn);
                return err;
            }
        }
        ref var page = ref mem.PageAt(pfn);
        if (page.Test(PageFlag.PG_uptodate))
        {
            return pfn;
        }
        if (page.Test(PageFlag.PG_locked))
        {
            // filemap_nopage's page_not_uptodate: lock_page, i.e. wait for the read in flight.
            major = true;
            return mem.DeferWait(new MmWait(MmWaitKind.PageLocked, Pfn: pfn)) ? (int)Errno.EIOCBRETRY.Ret() : (int)Errno.EIO.Ret();
        }
        // Unlocked but not uptodate: the read failed. The page leaves the cache so a later
        // access reads it again (filemap_nopage retries readpage once; the error is the same).
        RemoveFromPageCache(mem, mapping, index, pfn);
        return (int)Errno.EIO.Ret();
    }

    /// <summary>
    /// do_generic_mapping_read: copy from the page cache at f_pos to user memory, a page at a
    /// time, up to i_size, reading absent pages in through a_ops.readpage. Returns the bytes
    /// read, or -EFAULT (or readpage's error) if none were.
    /// </summary>
    public static long Read(KFile file, MmStruct mm, long buf, long count) => Read(file, mm, buf, count, holesReadAsZeros: false);

    /// <summary>
    /// The read loop. With `holesReadAsZeros` an absent page is copied out as zeros without being
    /// read in or allocated (shmem_file_read's SGP_READ); otherwise it is read in.
    /// </summary>
    internal static long Read(KFile file, MmStruct mm, long buf, long count, bool holesReadAsZeros)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(mm);
        var mem = mm.Memory;
        var mapping = file.Inode.Mapping;
        var ra = file.Ra;
        long n = Math.Max(0, Math.Min(count, file.Inode.Size - file.Pos));
        long firstIndex = file.Pos >> MemoryLayout.PAGE_SHIFT;
        long lastIndex = (file.Pos + Math.Min(count, long.MaxValue / 2) + MemoryLayout.PAGE_SIZE - 1) >> MemoryLayout.PAGE_SHIFT;
        long nextIndex = firstIndex;
        long prevIndex = ra.PrevPage; // a re-read of the page the last read ended in is not marked again
        if (ra.ResumeIndex == firstIndex)
        {
            // The rest of a read that stopped to wait for a page: its windows stand.
            nextIndex = ra.ResumeNextIndex;
            ra.PrevPage = ra.ResumeRaPrevPage;
        }
        ra.ResumeIndex = -1;
        // shmem_file_read reads no further than asked; every other file reads ahead.
        bool readahead = !holesReadAsZeros;
        long done = 0;
        long error = 0;
        while (done < n)
        {
            long pos = file.Pos + done;
            long index = pos >> MemoryLayout.PAGE_SHIFT;
            if (readahead && index == nextIndex)
            {
                nextIndex = Readahead.PageCacheReadahead(mem, mapping, ra, index, lastIndex - index);
            }
            int pfn;
            if (holesReadAsZeros)
            {
                pfn = mapping.AOps.LookupPage(mem, mapping, index);
            }
            else
            {
                pfn = ReadCachePage(mem, mapping, index, ra, out _);
            }
            if (pfn < 0 && (!holesReadAsZeros || pfn != -1))
            {
                error = pfn; // -EIOCBRETRY: the caller sleeps on the page and reads on from f_pos
                if (pfn == (int)Errno.EIOCBRETRY.Ret())
                {
                    ra.ResumeIndex = index;
                    ra.ResumeNextIndex = nextIndex;
                    ra.ResumeRaPrevPage = ra.PrevPage;
                }
                break;
            }
            int off = (int)(pos & (MemoryLayout.PAGE_SIZE - 1));
            int want = (int)Math.Min(n - done, MemoryLayout.PAGE_SIZE - off);
            // file_read_actor: copy_to_user from the cache page (or the zero page for a hole).
            var from = mem.ReadPage(pfn < 0 ? mem.ZeroPagePfn : pfn).Slice(off, want);
            long copied = want - Uaccess.CopyToUser(mm, buf + done, from);
            if (pfn >= 0 && index != prevIndex)
            {
                mem.MarkPageAccessed(pfn);
            }
            prevIndex = index;
            done += copied;
            if (copied < want)
            {
                error = Errno.EFAULT.Ret();
                break;
            }
        }
        ra.PrevPage = prevIndex;
        file.Pos += done;
        return done > 0 ? done : error;
    }

    /// <summary>
    /// generic_file_buffered_write: for each page, grab the cache page, let a_ops.prepare_write
    /// ready it, copy from the user, a_ops.commit_write (dirty it, extend i_size). Returns the
    /// bytes written, or -EFAULT / -ENOSPC / prepare_write's error if none were.
    /// </summary>
    public static long Write(KFile file, MmStruct mm, long buf, long count)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(mm);
        var mem = mm.Memory;
        var mapping = file.Inode.Mapping;
        if ((file.Flags & OpenFlags.O_APPEND) != 0)
        {
            file.Pos = file.Inode.Size;
        }
        // generic_write_checks: nothing at or past s_maxbytes (EFBIG), and the count stops there.
        long max = file.Inode.MaxBytes;
        if (file.Pos >= max)
        {
            return count == 0 && file.Pos == max ? 0 : Errno.EFBIG.Ret();
        }
        count = Math.Min(count, max - file.Pos);
        long done = 0;
        long error = 0;
        while (done < count)
        {
            long pos = file.Pos + done;
            long index = pos >> MemoryLayout.PAGE_SHIFT;
            int fileOff = (int)(pos & (MemoryLayout.PAGE_SIZE - 1));
            int len = (int)Math.Min(count - done, MemoryLayout.PAGE_SIZE - fileOff);
            int pfn = mapping.AOps.LookupPage(mem, mapping, index);
            if (pfn < -1)
            {
                error = pfn; // -EIOCBRETRY: the page is coming back from swap
                break;
            }
            if (pfn < 0 && (pfn = AddToPageCache(mem, mapping, index)) < 0)
            {
                error = Errno.ENOSPC.Ret();
                break;
            }
            int err = mapping.AOps.PrepareWrite(mem, file, pfn, fileOff, fileOff + len);
            if (err < 0)
            {
                error = err;
                break;
            }
            // filemap_copy_from_user (the in-atomic form: a short copy leaves the page's other bytes).
            int copied = len - (int)Uaccess.CopyFromUser(mm, mem.WritePage(pfn, fileOff, len), buf + done, zeroTail: false);
            if (copied > 0)
            {
                mapping.AOps.CommitWrite(mem, file, pfn, pos + copied);
                mem.MarkPageAccessed(pfn);
                done += copied;
            }
            if (copied < len)
            {
                error = Errno.EFAULT.Ret();
                break;
            }
            // balance_dirty_pages_ratelimited: past its ratelimit the writer stops here to check the dirty limits.
            if (mapping.AOps.CapAccountDirty && mem.Writeback.RatelimitExceeded(1)
                && mem.DeferWait(new MmWait(MmWaitKind.BalanceDirty, Mapping: mapping)))
            {
                break;
            }
        }
        file.Pos += done;
        return done > 0 || count == 0 ? done : error;
    }

    /// <summary>generic_file_mmap: the mapping faults through filemap_nopage.</summary>
    public static int Mmap(KFile file, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(vma);
        vma.VmOps = FileVmOps.Instance;
        return 0;
    }

    /// <summary>generic_file_vm_ops: filemap_nopage over a_ops.readpage.</summary>
    public sealed class FileVmOps : VmOperations
    {
        public static FileVmOps Instance { get; } = new();

        public override string Name => "generic_file_vm_ops";

        /// <summary>
        /// filemap_nopage: SIGBUS past EOF, else the cache page (read in if absent), referenced;
        /// NOPAGE_RETRY while its read is in flight (the fault sleeps on the page and runs again).
        /// </summary>
        public override int Nopage(Vma vma, long address, out bool major)
        {
            ArgumentNullException.ThrowIfNull(vma);
            major = false;
            var inode = vma.File!.Inode;
            long index = vma.LinearPageIndex(address);
            if (index >= inode.SizeInPages)
            {
                return NOPAGE_SIGBUS;
            }
            var mem = vma.Mm.Memory;
            var mapping = inode.Mapping;
            bool readaround = ReadAround(mem, vma, mapping, index);
            int pfn = ReadCachePage(mem, mapping, index, out major);
            major |= readaround; // filemap_nopage: a fault that read around is major
            if (readaround && pfn == (int)Errno.EIOCBRETRY.Ret())
            {
                vma.File.Ra.ReadaroundIndex = index; // the fault runs again: not a hit then
            }
            if (pfn < 0)
            {
                return pfn == (int)Errno.ENOMEM.Ret() ? NOPAGE_OOM
                    : pfn == (int)Errno.EIOCBRETRY.Ret() ? NOPAGE_RETRY
                    : NOPAGE_SIGBUS;
            }
            mem.PageAt(pfn).Count++; // page_cache_get: the caller's reference
            mem.MarkPageAccessed(pfn); // filemap_nopage
            return pfn;
        }

        /// <summary>
        /// filemap_nopage's read-ahead: none under MADV_RANDOM; the read windows under
        /// MADV_SEQUENTIAL; otherwise, on a miss, ra_pages read around the fault unless the file
        /// misses much more than it hits (MMAP_LOTSAMISS). True when it read around.
        /// </summary>
        private static bool ReadAround(MemorySubsystem mem, Vma vma, AddressSpace mapping, long index)
        {
            var ra = vma.File!.Ra;
            bool retry = ra.ReadaroundIndex == index;
            ra.ReadaroundIndex = -1;
            if (vma.Has(VmFlags.VM_RAND_READ) || !mapping.AOps.ReadsFromBackingStore)
            {
                return false;
            }
            bool sequential = vma.Has(VmFlags.VM_SEQ_READ);
            if (sequential)
            {
                Readahead.PageCacheReadahead(mem, mapping, ra, index, 1);
            }
            if (mapping.FindPage(index) >= 0)
            {
                if (!retry)
                {
                    ra.MmapHit++;
                }
                return false;
            }
            if (sequential)
            {
                ra.HandleRaMiss();
                return false;
            }
            ra.MmapMiss++;
            if (ra.MmapMiss > ra.MmapHit + FileRaState.MMAP_LOTSAMISS)
            {
                return false; // read-around only hurts this file
            }
            long n = Readahead.MaxSaneReadahead(mem, ra.RaPages);
            if (n > 0)
            {
                Readahead.DoPageCacheReadahead(mem, mapping, index > n / 2 ? index - n / 2 : 0, n);
            }
            return true;
        }
    }
}
