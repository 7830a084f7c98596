// Linux 2.6.20 mm/shmem.c, reduced to an in-memory file system with one flat directory (think
// /dev/shm): create, open, read, write, ftruncate, unlink, and shmem_getpage, which finds or
// allocates a file page in the page cache. A file's pages are freed when it has no name, no
// open file and no mapping left. Under memory pressure its pages go to swap (ShmemSwap.cs).
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Shmem;

public sealed partial class Tmpfs : IFileSystem
{
    private readonly MemorySubsystem _mm;
    private readonly Dictionary<string, ShmemInode> _names = new(StringComparer.Ordinal);
    private long _nextIno = 2;

    internal Tmpfs(MemorySubsystem mm)
    {
        MaxBytes = ShmemMaxBytes(mm.Arch);
        _mm = mm;
        FileOps = new ShmemFileOperations(this);
        VmOps = new ShmemVmOperations(this);
        AOps = new ShmemAddressSpaceOperations(this);
    }

    /// <summary>SHMEM_NR_DIRECT: swap entries kept in the inode before the indirect pages.</summary>
    public const int SHMEM_NR_DIRECT = 16;

    /// <summary>
    /// SHMEM_MAX_BYTES (s_maxbytes): what the inode's two-level index of swap-entry pages can
    /// address, SHMEM_NR_DIRECT + (ENTRIES_PER_PAGE^2 / 2) * (ENTRIES_PER_PAGE + 1) pages, where
    /// ENTRIES_PER_PAGE = PAGE_SIZE / sizeof(unsigned long): about 2 TiB on i386, 256 GiB on x86_64.
    /// </summary>
    public long MaxBytes { get; }

    private static long ShmemMaxBytes(Architecture arch)
    {
        long perPage = MemoryLayout.PAGE_SIZE / (arch == Architecture.I386Pae ? 4 : 8);
        long maxIndex = SHMEM_NR_DIRECT + (perPage * perPage / 2) * (perPage + 1);
        return maxIndex << MemoryLayout.PAGE_SHIFT;
    }

    /// <summary>The file system type's name, as /proc/mounts shows it.</summary>
    public string Name => "tmpfs";

    /// <summary>shmem_file_operations.</summary>
    public ShmemFileOperations FileOps { get; }

    /// <summary>shmem_aops.</summary>
    public ShmemAddressSpaceOperations AOps { get; }

    /// <summary>shmem_vm_ops.</summary>
    public ShmemVmOperations VmOps { get; }

    public IReadOnlyDictionary<string, ShmemInode> Names => _names;

    /// <summary>Every inode alive (named, open or mapped).</summary>
    public HashSet<ShmemInode> Inodes { get; } = new();

    private ShmemInode NewInode(string name)
    {
        var inode = new ShmemInode(_nextIno++, name, this);
        inode.Mapping = _mm.NewAddressSpace(inode, AOps);
        Inodes.Add(inode);
        return inode;
    }

    /// <summary>open(2) on a tmpfs path: a KFile, or -errno.</summary>
    public (KFile? File, long Error) Open(string path, int flags)
    {
        if (string.IsNullOrEmpty(path) || path.Length > 255)
        {
            return (null, string.IsNullOrEmpty(path) ? Errno.ENOENT.Ret() : Errno.ENAMETOOLONG.Ret());
        }
        if (!_names.TryGetValue(path, out var inode))
        {
            if ((flags & OpenFlags.O_CREAT) == 0)
            {
                return (null, Errno.ENOENT.Ret());
            }
            inode = NewInode(path);
            inode.NLink = 1;
            _names.Add(path, inode);
        }
        else if ((flags & (OpenFlags.O_CREAT | OpenFlags.O_EXCL)) == (OpenFlags.O_CREAT | OpenFlags.O_EXCL))
        {
            return (null, Errno.EEXIST.Ret());
        }
        var f = new KFile(inode, flags);
        inode.OpenFiles++;
        if ((flags & OpenFlags.O_TRUNC) != 0 && f.CanWrite)
        {
            Truncate(inode, 0);
        }
        return (f, 0);
    }

    /// <summary>
    /// shmem_zero_setup: an unnamed file backing MAP_SHARED|MAP_ANONYMOUS. shmem_file_setup charges
    /// its whole size (VM_ACCOUNT) unless `noreserve`; null when the charge is refused (ENOMEM).
    /// The charge goes back when the inode does.
    /// </summary>
    public KFile? ZeroSetup(long size, bool noreserve = false, Memory.MmStruct? mm = null)
    {
        long pages = (size + MemoryLayout.PAGE_SIZE - 1) >> MemoryLayout.PAGE_SHIFT;
        if (!noreserve && _mm.Overcommit.VmEnoughMemory(pages, mm) < 0)
        {
            return null;
        }
        var inode = NewInode("/dev/zero (deleted)");
        inode.Size = size;
        inode.OpenFiles = 1;
        inode.AccountedPages = noreserve ? 0 : pages;
        return new KFile(inode, OpenFlags.O_RDWR);
    }

    public long Unlink(string path)
    {
        if (!_names.Remove(path, out var inode))
        {
            return Errno.ENOENT.Ret();
        }
        inode.NLink--;
        MaybeEvict(inode);
        return 0;
    }

    /// <summary>An unlinked inode with no open file and no mapping gives its pages back.</summary>
    internal void MaybeEvict(Inode inode)
    {
        if (inode.NLink == 0 && inode.OpenFiles == 0 && inode.Mapping.IMmap.Count == 0)
        {
            Truncate(inode, 0);
            var si = (ShmemInode)inode;
            Inodes.Remove(si);
            _mm.Overcommit.Unacct(si.AccountedPages); // shmem_delete_inode: shmem_unacct_size
            _mm.ReleaseAddressSpace(inode.Mapping);
        }
    }

    /// <summary>
    /// shmem_getpage: the cache page at index (brought back from swap if it is there), allocating
    /// (zeroed) it when `allocate`; -1 for a hole or no memory, -EIOCBRETRY while a swap read is
    /// waited for (recorded in the caller's section), -EIO when the swap read failed.
    /// </summary>
    public int GetPage(ShmemInode inode, long index, bool allocate)
    {
        var mapping = inode.Mapping;
        int pfn = FindOrSwapIn(inode, index);
        if (pfn >= 0 || pfn < -1 || !allocate)
        {
            return pfn;
        }
        pfn = GenericFile.AddToPageCache(_mm, mapping, index, Gfp.GFP_HIGHUSER | Gfp.__GFP_ZERO);
        if (pfn >= 0)
        {
            _mm.PageAt(pfn).Set(PageFlag.PG_uptodate);
        }
        return pfn;
    }

    /// <summary>
    /// truncate_inode_pages + unmap_mapping_range: drop every page at or beyond `size`. Mapped
    /// pages are unmapped from every VMA first.
    /// </summary>
    public void Truncate(Inode inode, long size)
    {
        ArgumentNullException.ThrowIfNull(inode);
        inode.Size = size;
        long first = (size + MemoryLayout.PAGE_SIZE - 1) >> MemoryLayout.PAGE_SHIFT;
        var mapping = inode.Mapping;
        foreach (var (index, pfn) in mapping.PageTree.Where(kv => kv.Key >= first).ToList())
        {
            foreach (var vma in mapping.IMmap.ToList())
            {
                vma.Mm.UnmapFilePage(vma, index, pfn);
            }
            GenericFile.RemoveFromPageCache(_mm, mapping, index, pfn);
        }
        TruncateSwap((ShmemInode)inode, first);
    }
}
