// The architecture's physical memory layout: which zones exist and where they start. i386 with
// PAE (the default) has ZONE_DMA below 16 MiB, ZONE_NORMAL up to 896 MiB (the directly mapped
// lowmem; MAXMEM = 1 GiB - 128 MiB vmalloc reserve) and ZONE_HIGHMEM above, so lowmem can run
// out while highmem is free. The flat 64-bit layout (x86_64) has DMA, DMA32 (below 4 GiB) and
// NORMAL, and no highmem.
namespace Kernel.Mm;

public enum Architecture
{
    /// <summary>i386 with PAE: 3 GiB user space, 3-level page tables, highmem.</summary>
    I386Pae,
    /// <summary>x86_64: 4-level page tables, no highmem.</summary>
    Flat64,
}

public sealed record ZoneSpec(ZoneType Type, string Name, long StartPfn, long EndPfn);

public static class MemoryLayout
{
    public const int PAGE_SHIFT = 12;
    public const int PAGE_SIZE = 1 << PAGE_SHIFT;
    public const long MiB = 1024 * 1024;
    public const long GiB = 1024 * MiB;

    /// <summary>i386: 896 MiB of directly mapped lowmem.</summary>
    public const long I386MaxLowmem = 896 * MiB;

    public static IReadOnlyList<ZoneSpec> Zones(Architecture arch, long memoryBytes)
    {
        long pages = memoryBytes >> PAGE_SHIFT;
        long dmaEnd = Math.Min(pages, (16 * MiB) >> PAGE_SHIFT);
        return arch switch
        {
            Architecture.I386Pae => Spans(pages,
                (ZoneType.ZONE_DMA, "DMA", dmaEnd),
                (ZoneType.ZONE_NORMAL, "Normal", Math.Min(pages, I386MaxLowmem >> PAGE_SHIFT)),
                (ZoneType.ZONE_HIGHMEM, "HighMem", pages)),
            Architecture.Flat64 => Spans(pages,
                (ZoneType.ZONE_DMA, "DMA", dmaEnd),
                (ZoneType.ZONE_DMA32, "DMA32", Math.Min(pages, (4 * GiB) >> PAGE_SHIFT)),
                (ZoneType.ZONE_NORMAL, "Normal", pages)),
            _ => throw new ArgumentOutOfRangeException(nameof(arch)),
        };
    }

    private static List<ZoneSpec> Spans(long pages, params (ZoneType Type, string Name, long End)[] zones)
    {
        var list = new List<ZoneSpec>();
        long start = 0;
        foreach (var (type, name, end) in zones)
        {
            list.Add(new ZoneSpec(type, name, start, Math.Max(start, end)));
            start = Math.Max(start, end);
        }
        return list;
    }

    /// <summary>sysctl_lowmem_reserve_ratio for the zones below the top one (2.6.20).</summary>
    public static int[] LowmemReserveRatio(Architecture arch) => arch == Architecture.I386Pae ? [256, 32] : [256, 256];

    /// <summary>int_sqrt as the kernel computes it (floor of the square root).</summary>
    public static long IntSqrt(long x)
    {
        long r = (long)Math.Sqrt(x);
        while (r * r > x)
        {
            r--;
        }
        while ((r + 1) * (r + 1) <= x)
        {
            r++;
        }
        return r;
    }
}
