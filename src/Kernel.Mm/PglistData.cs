// Linux 2.6.20 include/linux/mmzone.h pg_data_t: one memory node. A UMA machine has one
// (contig_page_data, MemorySubsystem.Node): its zones, the zonelists build_zonelists makes from
// them (highest allowed zone first, falling back downwards), its slice of mem_map, its size, and
// the wait queue its kswapd sleeps on. The memory subsystem (MemorySubsystem) owns the node and
// everything that is not per node: the allocator's entry points, slab, rmap, tmpfs, the page cache.

namespace Kernel.Mm;

public sealed class PglistData
{
    private readonly Zone[][] _zonelists;

    internal PglistData(int nodeId, Page[] memMap, Zone[] zones)
    {
        NodeId = nodeId;
        NodeMemMap = memMap;
        NodeZones = zones;
        foreach (var z in zones)
        {
            z.ZonePgdat = this;
        }
        NodeStartPfn = zones.Length == 0 ? 0 : zones[0].ZoneStartPfn;
        NodeSpannedPages = memMap.LongLength;
        NodePresentPages = zones.Sum(z => z.PresentPages);
        _zonelists = BuildZonelists();
    }

    /// <summary>node_id.</summary>
    public int NodeId { get; }

    /// <summary>node_zones: DMA, (DMA32,) NORMAL, (HIGHMEM), in address order.</summary>
    public Zone[] NodeZones { get; }

    /// <summary>nr_zones.</summary>
    public int NrZones => NodeZones.Length;

    /// <summary>node_mem_map: the node's struct pages, indexed by pfn - node_start_pfn.</summary>
    public Page[] NodeMemMap { get; }

    public long NodeStartPfn { get; }

    /// <summary>node_present_pages: the zones' present pages (spanned less their mem_map).</summary>
    public long NodePresentPages { get; }

    /// <summary>node_spanned_pages: the node's pfn range, holes included.</summary>
    public long NodeSpannedPages { get; }

    /// <summary>
    /// node_zonelists[top]: the zones an allocation whose highest allowed zone is `top` may use,
    /// highest first, empty zones left out (build_zonelists_node for one node).
    /// </summary>
    public Zone[] Zonelist(int top) => _zonelists[top];

    private Zone[][] BuildZonelists()
    {
        var lists = new Zone[NodeZones.Length][];
        for (int top = 0; top < NodeZones.Length; top++)
        {
            lists[top] = Enumerable.Range(0, top + 1).Reverse().Select(i => NodeZones[i]).Where(z => z.PresentPages > 0).ToArray();
        }
        return lists;
    }
}
