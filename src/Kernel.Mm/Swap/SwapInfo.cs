// Linux 2.6.20 include/linux/swap.h struct swap_info_struct and union swap_header: one swap area
// (a block device partition, or a file), its swap map of use counts (SWAP_MAP_BAD for the header
// page and bad pages), and mkswap's header, the "SWAPSPACE2" signature in the first page's last
// ten bytes with version 1, last_page and the bad-page list in its info block.
using System.Buffers.Binary;
using System.Text;
using Kernel.Mm.Filemap;

namespace Kernel.Mm.Swap;

/// <summary>swap_info_struct flags.</summary>
[Flags]
public enum SwapFlags
{
    None = 0,
    SWP_USED = 1 << 0,
    SWP_WRITEOK = 1 << 1,
    SWP_ACTIVE = SWP_USED | SWP_WRITEOK,
}

public sealed class SwapInfo
{
    /// <summary>SWAP_MAP_MAX: the highest use count; SWAP_MAP_BAD: a page never used.</summary>
    public const ushort SWAP_MAP_MAX = 0x7fff;

    public const ushort SWAP_MAP_BAD = 0x8000;

    internal SwapInfo(int type, string name, AddressSpace mapping, bool partition, int prio, ushort[] map, long pages, ISwapBacking backing)
    {
        Type = type;
        Backing = backing;
        Name = name;
        Mapping = mapping;
        IsPartition = partition;
        Prio = prio;
        SwapMap = map;
        Pages = pages;
        Flags = SwapFlags.SWP_ACTIVE;
        LowestBit = 1;
        HighestBit = map.Length - 1;
    }

    /// <summary>The area's I/O (its bdev in Linux): where swap_writepage and swap_readpage send their bios.</summary>
    public ISwapBacking Backing { get; }

    /// <summary>The index in swap_info[] (the type in a swap entry).</summary>
    public int Type { get; }

    /// <summary>The path it was enabled by (/proc/swaps' Filename).</summary>
    public string Name { get; }

    /// <summary>swap_file->f_mapping: what identifies the area (a second swapon of it is EBUSY).</summary>
    public AddressSpace Mapping { get; }

    public bool IsPartition { get; }

    public SwapFlags Flags { get; internal set; }

    public int Prio { get; }

    /// <summary>swap_map: a use count per page of the area (max in Linux's terms is its length).</summary>
    internal ushort[] SwapMap { get; }

    public long Max => SwapMap.Length;

    /// <summary>pages: the good pages (all but the header and the bad ones).</summary>
    public long Pages { get; }

    /// <summary>inuse_pages: pages holding swapped data.</summary>
    public long InusePages { get; internal set; }

    /// <summary>lowest_bit, highest_bit: the range scan_swap_map searches for a free page (0 highest: full).</summary>
    internal long LowestBit { get; set; }

    internal long HighestBit { get; set; }

    /// <summary>cluster_next, cluster_nr: where the current run of SWAPFILE_CLUSTER sequential allocations goes on.</summary>
    internal long ClusterNext { get; set; } = 1;

    internal int ClusterNr { get; set; }

    /// <summary>swap_map[offset]: the use count of one page of the area (PTEs and the swap cache naming it).</summary>
    public int UseCount(long offset) => offset >= 0 && offset < SwapMap.Length ? SwapMap[offset] : 0;

    public override string ToString() => Name;
}

/// <summary>
/// An area's page I/O, implemented by whatever holds the area (the block layer for a partition):
/// start writing or reading page `pfn` at page `offset` of the area and, when the I/O ends, call
/// SwapAreas.EndSwapWrite / EndSwapRead (end_swap_bio_write / end_swap_bio_read). A false return
/// means no bio could be had now (the caller redirties or unlocks the page).
/// </summary>
public interface ISwapBacking
{
    bool SubmitWrite(int pfn, long offset);

    bool SubmitRead(int pfn, long offset);

    /// <summary>swap_unplug_io_fn: start the queued I/O now (a task is about to wait for a swap page).</summary>
    void Unplug();
}

/// <summary>union swap_header, version 2 (mkswap -v1).</summary>
public static class SwapHeader
{
    public const string Magic = "SWAPSPACE2";
    public const string OldMagic = "SWAP-SPACE";

    /// <summary>Offsets in the header page: info.version, info.last_page, info.nr_badpages, info.badpages[].</summary>
    public const int VersionOffset = 1024;
    public const int LastPageOffset = 1028;
    public const int NrBadpagesOffset = 1032;
    public const int BadpagesOffset = 1536;

    /// <summary>MAX_SWAP_BADPAGES: the bad-page list runs up to the magic.</summary>
    public const int MAX_SWAP_BADPAGES = (MemoryLayout.PAGE_SIZE - 10 - BadpagesOffset) / 4;

    /// <summary>mkswap: the header page of a swap area of `pages` pages (the last page is pages - 1), with an optional bad-page list.</summary>
    public static byte[] Make(long pages, IReadOnlyList<int>? badPages = null, int version = 1, string magic = Magic)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        ArgumentNullException.ThrowIfNull(magic);
        var page = new byte[MemoryLayout.PAGE_SIZE];
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(VersionOffset), (uint)version);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(LastPageOffset), (uint)(pages - 1));
        var bad = badPages ?? [];
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(NrBadpagesOffset), (uint)bad.Count);
        for (int i = 0; i < bad.Count && i < MAX_SWAP_BADPAGES; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(BadpagesOffset + 4 * i), (uint)bad[i]);
        }
        Encoding.ASCII.GetBytes(magic).AsSpan(0, 10).CopyTo(page.AsSpan(MemoryLayout.PAGE_SIZE - 10));
        return page;
    }
}
