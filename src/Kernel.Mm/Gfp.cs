// Linux 2.6.20 include/linux/gfp.h: allocation flags and the zone an allocation may come from.
namespace Kernel.Mm;

[Flags]
public enum Gfp : uint
{
    __GFP_DMA = 0x01,
    __GFP_HIGHMEM = 0x02,
    __GFP_DMA32 = 0x04,
    /// <summary>Can wait and reschedule.</summary>
    __GFP_WAIT = 0x10,
    /// <summary>May use the emergency pools (below pages_min).</summary>
    __GFP_HIGH = 0x20,
    __GFP_IO = 0x40,
    __GFP_FS = 0x80,
    /// <summary>A cache-cold page is fine (the cold per-CPU list).</summary>
    __GFP_COLD = 0x100,
    __GFP_NOWARN = 0x200,
    __GFP_REPEAT = 0x400,
    __GFP_NOFAIL = 0x800,
    __GFP_NORETRY = 0x1000,
    __GFP_NO_GROW = 0x2000,
    __GFP_COMP = 0x4000,
    __GFP_ZERO = 0x8000,
    __GFP_NOMEMALLOC = 0x10000,
    __GFP_HARDWALL = 0x20000,
    __GFP_THISNODE = 0x40000,

    GFP_ATOMIC = __GFP_HIGH,
    /// <summary>GFP_ATOMIC without __GFP_HIGH: no sleeping, no emergency pools (0).</summary>
    GFP_NOWAIT = 0,
    GFP_NOIO = __GFP_WAIT,
    GFP_NOFS = __GFP_WAIT | __GFP_IO,
    GFP_KERNEL = __GFP_WAIT | __GFP_IO | __GFP_FS,
    GFP_USER = __GFP_WAIT | __GFP_IO | __GFP_FS | __GFP_HARDWALL,
    GFP_HIGHUSER = __GFP_WAIT | __GFP_IO | __GFP_FS | __GFP_HARDWALL | __GFP_HIGHMEM,
    GFP_DMA = __GFP_DMA,
    GFP_DMA32 = __GFP_DMA32,
}

/// <summary>enum zone_type: the zones that exist in the chosen architecture keep these indexes.</summary>
public enum ZoneType
{
    ZONE_DMA = 0,
    ZONE_DMA32 = 1,
    ZONE_NORMAL = 2,
    ZONE_HIGHMEM = 3,
}

public static class GfpExtensions
{
    /// <summary>gfp_zone: the highest zone an allocation may use.</summary>
    public static ZoneType GfpZone(this Gfp gfp)
    {
        if ((gfp & Gfp.__GFP_DMA) != 0)
        {
            return ZoneType.ZONE_DMA;
        }
        if ((gfp & Gfp.__GFP_HIGHMEM) != 0)
        {
            return ZoneType.ZONE_HIGHMEM;
        }
        if ((gfp & Gfp.__GFP_DMA32) != 0)
        {
            return ZoneType.ZONE_DMA32;
        }
        return ZoneType.ZONE_NORMAL;
    }

    public static bool CanWait(this Gfp gfp) => (gfp & Gfp.__GFP_WAIT) != 0;
}
