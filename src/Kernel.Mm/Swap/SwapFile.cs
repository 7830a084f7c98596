// Linux 2.6.20 mm/swapfile.c, the areas: sys_swapon's checks and set-up (the header's signature
// and version, last_page against the area's size, the bad-page list, the swap map, priorities
// from SWAP_FLAG_PREFER or a falling least_priority), sys_swapoff's removal, /proc/swaps, and the
// totals meminfo and overcommit read. The syscalls (Kernel's UserTask) open the path and read the
// header page through the device's page cache, then call here. SwapOff.cs is sys_swapoff.
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Swap;

public sealed partial class SwapAreas
{
    /// <summary>SWAP_FLAG_PREFER and the priority bits of swapon's flags.</summary>
    public const int SWAP_FLAG_PREFER = 0x8000;
    public const int SWAP_FLAG_PRIO_MASK = 0x7fff;

    /// <summary>MAX_SWAPFILES (1 &lt;&lt; MAX_SWAPFILES_SHIFT, less the two migration types).</summary>
    public const int MAX_SWAPFILES = (1 << 5) - 2;

    /// <summary>The largest swap offset a swap PTE can encode (SwpEntry: 27 offset bits).</summary>
    public const long MaxSwapOffset = SwpEntry.SWP_OFFSET_MASK;

    private readonly MemorySubsystem _mem;
    private readonly SwapInfo?[] _info = new SwapInfo?[MAX_SWAPFILES];
    private int _leastPriority;

    internal SwapAreas(MemorySubsystem mem)
    {
        _mem = mem;
        SwapperSpace = mem.NewAddressSpace(new SwapperInode(), new SwapAddressSpaceOperations(this));
        // swap_setup: page_cluster 2 (readahead of 4 pages) below 16 MB of memory, else 3 (8 pages).
        PageCluster = mem.Options.MemoryBytes < (16L << 20) ? 2 : 3;
    }

    /// <summary>The active areas, highest priority first (swap_list).</summary>
    public IReadOnlyList<SwapInfo> Areas => _info.Where(s => s is not null).Select(s => s!).OrderByDescending(s => s.Prio).ThenBy(s => s.Type).ToList();

    /// <summary>total_swap_pages: the good pages of the areas that take pages (swapoff takes an area's out first).</summary>
    public long TotalSwapPages { get; private set; }

    /// <summary>nr_swap_pages: free swap pages in the areas that take pages.</summary>
    public long NrSwapPages { get; private set; }

    /// <summary>swap_info[type], or null.</summary>
    public SwapInfo? Info(int type) => type >= 0 && type < _info.Length ? _info[type] : null;

    /// <summary>Messages swapon and swapoff print.</summary>
    public List<string> Log { get; } = new();

    /// <summary>
    /// sys_swapon after the open: enable the area whose first page is `header`, `sizePages` long
    /// (0: unknown), identified by `mapping`. 0 or -errno (EBUSY: already swap; EINVAL: no
    /// signature, version 0, a header that claims more than the area, an empty area, a bad-page list
    /// out of range; EPERM: swap_info is full).
    /// </summary>
    public long Swapon(string name, AddressSpace mapping, bool partition, ReadOnlySpan<byte> header, long sizePages, int flags, ISwapBacking backing)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(backing);
        ArgumentNullException.ThrowIfNull(mapping);
        int type = Array.IndexOf(_info, null);
        if (type < 0)
        {
            return Errno.EPERM.Ret();
        }
        if (_info.Any(s => s is not null && s.Mapping == mapping))
        {
            return Errno.EBUSY.Ret();
        }
        if (header.Length < MemoryLayout.PAGE_SIZE)
        {
            return Errno.EINVAL.Ret();
        }
        var magic = Encoding.ASCII.GetString(header.Slice(MemoryLayout.PAGE_SIZE - 10, 10));
        if (magic == SwapHeader.OldMagic)
        {
            Log.Add($"version 0 swap is no longer supported. Use mkswap -v1 {name}");
            return Errno.EINVAL.Ret();
        }
        if (magic != SwapHeader.Magic)
        {
            Log.Add("Unable to find swap-space signature");
            return Errno.EINVAL.Ret();
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[SwapHeader.VersionOffset..]);
        if (version != 1)
        {
            Log.Add($"Unable to handle swap header version {version}");
            return Errno.EINVAL.Ret();
        }
        long lastPage = BinaryPrimitives.ReadUInt32LittleEndian(header[SwapHeader.LastPageOffset..]);
        uint nrBad = BinaryPrimitives.ReadUInt32LittleEndian(header[SwapHeader.NrBadpagesOffset..]);
        // As 2.6.20 computes it: at most last_page pages (the last one is left out; later kernels use last_page + 1).
        long maxpages = Math.Min(MaxSwapOffset - 1, lastPage);
        if (maxpages == 0)
        {
            return Errno.EINVAL.Ret();
        }
        if (sizePages > 0 && maxpages > sizePages)
        {
            Log.Add("Swap area shorter than signature indicates");
            return Errno.EINVAL.Ret();
        }
        if ((nrBad > 0 && !partition) || nrBad > SwapHeader.MAX_SWAP_BADPAGES)
        {
            return Errno.EINVAL.Ret();
        }
        var map = new ushort[maxpages];
        for (int i = 0; i < nrBad; i++)
        {
            long pageNr = BinaryPrimitives.ReadUInt32LittleEndian(header[(SwapHeader.BadpagesOffset + 4 * i)..]);
            if (pageNr <= 0 || pageNr >= lastPage)
            {
                return Errno.EINVAL.Ret();
            }
            if (pageNr < maxpages)
            {
                map[pageNr] = SwapInfo.SWAP_MAP_BAD;
            }
        }
        long good = lastPage - nrBad - 1; // less the header page
        if (good <= 0)
        {
            Log.Add("Empty swap-file");
            return Errno.EINVAL.Ret();
        }
        map[0] = SwapInfo.SWAP_MAP_BAD;
        // setup_swap_extents: the good pages are those the map can hold.
        good = Math.Min(good, map.Count(c => c == 0));
        int prio = (flags & SWAP_FLAG_PREFER) != 0 ? flags & SWAP_FLAG_PRIO_MASK : --_leastPriority;
        var si = new SwapInfo(type, name, mapping, partition, prio, map, good, backing);
        _info[type] = si;
        TotalSwapPages += good;
        NrSwapPages += good;
        RebuildSwapList();
        Log.Add(string.Create(CultureInfo.InvariantCulture,
            $"Adding {good << (MemoryLayout.PAGE_SHIFT - 10)}k swap on {name}.  Priority:{prio} extents:1 across:{maxpages << (MemoryLayout.PAGE_SHIFT - 10)}k"));
        return 0;
    }

    /// <summary>/proc/swaps (swap_show).</summary>
    public string FormatSwaps()
    {
        var sb = new StringBuilder("Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n");
        foreach (var s in _info)
        {
            if (s is null)
            {
                continue;
            }
            sb.Append(CultureInfo.InvariantCulture,
                $"{s.Name,-39} {(s.IsPartition ? "partition" : "file\t")}\t{s.Pages << (MemoryLayout.PAGE_SHIFT - 10)}\t{s.InusePages << (MemoryLayout.PAGE_SHIFT - 10)}\t{s.Prio}\n");
        }
        return sb.ToString();
    }
}
