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
    /// add_to_page_cache: a new page at `index` of `mapping`, not yet uptodate, with the cache's
    /// reference. -1 when no memory.
    /// </summary>
    public static int AddToPageCache(PglistData node, AddressSpace mapping, long index, Gfp gfp = Gfp.GFP_HIGHUSER)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(mapping);
        int pfn = node.AllocPages(gfp, 0);
        if (pfn < 0)
        {
            return -1;
        }
        ref var page = ref node.PageAt(pfn);
        page.Mapping = mapping.Handle;
        page.Index = (uint)index;
        mapping.PageTree.Add(index, pfn);
        node.NrFilePages++;
        return pfn;
    }

    /// <summary>remove_from_page_cache + page_cache_release: the page leaves the cache.</summary>
    public static void RemoveFromPageCache(PglistData node, AddressSpace mapping, long index, int pfn)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(mapping);
        mapping.PageTree.Remove(index);
        node.NrFilePages--;
        ref var page = ref node.PageAt(pfn);
        page.Mapping = 0;
        page.Clear(PageFlag.PG_uptodate);
        page.Clear(PageFlag.PG_dirty);
        node.FreePages(pfn, 0);
    }

    /// <summary>
    /// find_get_page, else page_cache_read: the uptodate cache page at `index`, read in through
    /// a_ops.readpage when absent (`major` then reports the I/O). -ENOMEM or readpage's -errno.
    /// </summary>
    public static int ReadCachePage(PglistData node, AddressSpace mapping, long index, out bool major)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        major = false;
        int pfn = mapping.FindPage(index);
        if (pfn >= 0)
        {
            return pfn;
        }
        pfn = AddToPageCache(node, mapping, index);
        if (pfn < 0)
        {
            return (int)Errno.ENOMEM.Ret();
        }
        major = true;
        int err = mapping.AOps.ReadPage(node, mapping, pfn);
        if (err < 0)
        {
            RemoveFromPageCache(node, mapping, index, pfn);
            return err;
        }
        return pfn;
    }

    /// <summary>
    /// do_generic_mapping_read: copy from the page cache at f_pos to user memory, a page at a
    /// time, up to i_size. Returns the bytes read, or -EFAULT (or readpage's error) if none were.
    /// </summary>
    public static long Read(KFile file, MmStruct mm, long buf, long count)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(mm);
        var node = mm.Node;
        var mapping = file.Inode.Mapping;
        long n = Math.Max(0, Math.Min(count, file.Inode.Size - file.Pos));
        long done = 0;
        long error = 0;
        while (done < n)
        {
            long pos = file.Pos + done;
            int pfn = ReadCachePage(node, mapping, pos >> MemoryLayout.PAGE_SHIFT, out _);
            if (pfn < 0)
            {
                error = pfn;
                break;
            }
            long want = Math.Min(n - done, MemoryLayout.PAGE_SIZE - (pos & (MemoryLayout.PAGE_SIZE - 1)));
            long copied = CopyPageToUser(mm, pfn, pos, buf + done, want);
            done += copied;
            if (copied < want)
            {
                error = Errno.EFAULT.Ret();
                break;
            }
        }
        file.Pos += done;
        return done > 0 ? done : error;
    }

    /// <summary>
    /// The actor of the read loop (file_read_actor): copy the part of cache page `pfn` from file
    /// offset `pos` to user address `dst`, at most `max` bytes, stopping at the first bad user
    /// page. `pfn` &lt; 0 stands for a hole that reads as zeros. Returns the bytes copied.
    /// </summary>
    public static long CopyPageToUser(MmStruct mm, int pfn, long pos, long dst, long max)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var node = mm.Node;
        int fileOff = (int)(pos & (MemoryLayout.PAGE_SIZE - 1));
        long want = Math.Min(max, MemoryLayout.PAGE_SIZE - fileOff);
        long done = 0;
        while (done < want)
        {
            // Page to page: each step stays inside the cache page and one user page.
            int userOff = (int)((dst + done) & (MemoryLayout.PAGE_SIZE - 1));
            int len = (int)Math.Min(want - done, MemoryLayout.PAGE_SIZE - userOff);
            int userPfn = Uaccess.UserPage(mm, dst + done, write: true);
            if (userPfn < 0)
            {
                break;
            }
            var dest = node.WritePage(userPfn).Slice(userOff, len);
            if (pfn < 0)
            {
                dest.Clear();
            }
            else
            {
                node.ReadPage(pfn).Slice(fileOff + (int)done, len).CopyTo(dest);
            }
            done += len;
        }
        Uaccess.Charge(mm, done);
        return done;
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
        var node = mm.Node;
        var mapping = file.Inode.Mapping;
        if ((file.Flags & OpenFlags.O_APPEND) != 0)
        {
            file.Pos = file.Inode.Size;
        }
        long done = 0;
        long error = 0;
        while (done < count)
        {
            long pos = file.Pos + done;
            long index = pos >> MemoryLayout.PAGE_SHIFT;
            int fileOff = (int)(pos & (MemoryLayout.PAGE_SIZE - 1));
            int len = (int)Math.Min(count - done, MemoryLayout.PAGE_SIZE - fileOff);
            int pfn = mapping.FindPage(index);
            if (pfn < 0 && (pfn = AddToPageCache(node, mapping, index)) < 0)
            {
                error = Errno.ENOSPC.Ret();
                break;
            }
            int err = mapping.AOps.PrepareWrite(node, file, pfn, fileOff, fileOff + len);
            if (err < 0)
            {
                error = err;
                break;
            }
            int copied = CopyPageFromUser(mm, pfn, fileOff, buf + done, len);
            if (copied > 0)
            {
                mapping.AOps.CommitWrite(node, file, pfn, pos + copied);
                done += copied;
            }
            if (copied < len)
            {
                error = Errno.EFAULT.Ret();
                break;
            }
        }
        file.Pos += done;
        return done > 0 || count == 0 ? done : error;
    }

    /// <summary>filemap_copy_from_user: user bytes into cache page `pfn` at `off`; bytes copied.</summary>
    private static int CopyPageFromUser(MmStruct mm, int pfn, int off, long src, int len)
    {
        var node = mm.Node;
        int done = 0;
        while (done < len)
        {
            int userOff = (int)((src + done) & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(len - done, MemoryLayout.PAGE_SIZE - userOff);
            int userPfn = Uaccess.UserPage(mm, src + done, write: false);
            if (userPfn < 0)
            {
                break;
            }
            // Span.CopyTo is overlap-safe, so a buffer mapped from this very page copies correctly.
            node.ReadPage(userPfn).Slice(userOff, n).CopyTo(node.WritePage(pfn).Slice(off + done, n));
            done += n;
        }
        Uaccess.Charge(mm, done);
        return done;
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

        /// <summary>filemap_nopage: SIGBUS past EOF, else the cache page (read in if absent), referenced.</summary>
        public override int Nopage(Vma vma, long address, out bool major)
        {
            ArgumentNullException.ThrowIfNull(vma);
            major = false;
            var inode = vma.File!.Inode;
            long index = ((address - vma.VmStart) >> MemoryLayout.PAGE_SHIFT) + vma.VmPgoff;
            if (index << MemoryLayout.PAGE_SHIFT >= inode.Size)
            {
                return NOPAGE_SIGBUS;
            }
            var node = vma.Mm.Node;
            int pfn = ReadCachePage(node, inode.Mapping, index, out major);
            if (pfn < 0)
            {
                return pfn == (int)Errno.ENOMEM.Ret() ? NOPAGE_OOM : NOPAGE_SIGBUS;
            }
            node.PageAt(pfn).Count++; // page_cache_get: the caller's reference
            return pfn;
        }
    }
}
