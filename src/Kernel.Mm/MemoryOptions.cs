// Physical memory of one emulated machine.
namespace Kernel.Mm;

public sealed record MemoryOptions
{
    /// <summary>RAM size in bytes (a multiple of 4 KiB; 4 MiB .. 64 GiB).</summary>
    public long MemoryBytes { get; init; } = 256 * MemoryLayout.MiB;

    public Architecture Arch { get; init; } = Architecture.I386Pae;

    /// <summary>Reserved low memory (BIOS data, the 640 KiB-1 MiB hole): 1 MiB.</summary>
    public long LowReservedBytes { get; init; } = MemoryLayout.MiB;

    /// <summary>The kernel image (text, data, bss) loaded at 1 MiB.</summary>
    public long KernelImageBytes { get; init; } = 3 * MemoryLayout.MiB;

    /// <summary>Reverse mapping: objrmap (2.6.20, default), pte_chain (2.5/2.6.0) or none (2.4).</summary>
    public Rmap.RmapMode Rmap { get; init; } = Kernel.Mm.Rmap.RmapMode.ObjRmap;

    /// <summary>Override the boot-time min_free_kbytes (default: int_sqrt(lowmem_kbytes * 16)).</summary>
    public int? MinFreeKbytes { get; init; }

    /// <summary>
    /// L1_CACHE_BYTES, the size of a pte_chain block: 128 on i386 (the Pentium 4 / X86_GENERIC
    /// builds PAE servers ran), 64 on x86_64 by default.
    /// </summary>
    public int? L1CacheBytesOverride { get; init; }

    /// <summary>L1_CACHE_BYTES in effect.</summary>
    public int L1CacheBytes => L1CacheBytesOverride ?? (Arch == Architecture.I386Pae ? 128 : 64);

    /// <summary>
    /// Page reclaim (mm/vmscan.c): kswapd0 and direct reclaim over the LRU lists, on by default as
    /// in Linux. Off, allocations that find no free page fail at once (the behaviour before reclaim
    /// existed), which isolates a test from reclaim.
    /// </summary>
    public bool Reclaim { get; init; } = true;

    /// <summary>The page-replacement design reclaim starts with (/proc/sys/vm/page_replacement switches it at run time).</summary>
    public Vmscan.ReplacementPolicy Replacement { get; init; } = Vmscan.ReplacementPolicy.Lru;

    /// <summary>
    /// Andrea Arcangeli's fix from the LWN "Time to thrash the 2.6 VM?" seed: reclaim prefers clean
    /// page-cache pages over dirty and mapped ones until it is in distress
    /// (/proc/sys/vm/prefer_clean_cache). Off by default, as in 2.6.20.
    /// </summary>
    public bool PreferCleanCache { get; init; }

    /// <summary>What memory-management work costs in simulated time.</summary>
    public MmCosts Costs { get; init; } = MmCosts.Default;

    internal void Validate()
    {
        if (MemoryBytes % MemoryLayout.PAGE_SIZE != 0 || MemoryBytes < 4 * MemoryLayout.MiB || MemoryBytes > 64 * MemoryLayout.GiB)
        {
            throw new ArgumentException($"MemoryBytes must be a multiple of 4 KiB between 4 MiB and 64 GiB (was {MemoryBytes}).");
        }
        if (Arch == Architecture.I386Pae && MemoryBytes > 64 * MemoryLayout.GiB)
        {
            throw new ArgumentException("i386 PAE addresses at most 64 GiB.");
        }
        if (LowReservedBytes < 0 || KernelImageBytes < 0 || LowReservedBytes + KernelImageBytes >= MemoryBytes / 2)
        {
            throw new ArgumentException("Reserved boot memory must be non-negative and less than half of RAM.");
        }
        if (MinFreeKbytes is < 1)
        {
            throw new ArgumentException("MinFreeKbytes must be positive.");
        }
        if (L1CacheBytesOverride is not (null or 32 or 64 or 128))
        {
            throw new ArgumentException("L1CacheBytesOverride must be 32, 64 or 128.");
        }
        ArgumentNullException.ThrowIfNull(Costs);
        Costs.Validate();
    }
}
