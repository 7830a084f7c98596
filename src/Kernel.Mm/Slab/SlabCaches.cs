// kmem_cache_create and /proc/slabinfo (version 2.1, 2.6.20's s_show).
using System.Globalization;
using System.Text;
using Kernel.Mm.Slab;

namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    private readonly List<KmemCache> _caches = new();

    /// <summary>Pages held by all slab caches (NR_SLAB_*).</summary>
    public long SlabPages { get; internal set; }

    public IReadOnlyList<KmemCache> Caches => _caches;

    /// <summary>Slab pages given back to the page allocator so far (what reclaim_state->reclaimed_slab counts while a shrinker runs).</summary>
    public long SlabPagesFreed { get; internal set; }

    /// <summary>
    /// set_shrinker: register a cache that can give memory back. `shrink(nrToScan, gfp)` frees up
    /// to nrToScan objects and returns how many are left (with 0: how many it could free), or -1
    /// when it cannot now. Reclaim calls it in proportion to its LRU scanning (shrink_slab).
    /// </summary>
    public Vmscan.Shrinker SetShrinker(int seeks, Func<int, Gfp, int> shrink) =>
        (Reclaim ?? throw new InvalidOperationException("set_shrinker: this kernel has no page reclaim")).SetShrinker(seeks, shrink);

    /// <summary>remove_shrinker. False if it was not registered.</summary>
    public bool RemoveShrinker(Vmscan.Shrinker shrinker) => Reclaim?.RemoveShrinker(shrinker) ?? false;

    /// <summary>kmem_cache_create. Names are unique, as /proc/slabinfo needs them to be.</summary>
    public KmemCache KmemCacheCreate(string name, int size, SlabFlags flags = SlabFlags.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (_caches.Any(c => c.Name == name))
        {
            throw new ArgumentException($"kmem_cache_create: duplicate cache {name}");
        }
        // slab_break_gfp_order is raised on machines with more than 32 MiB.
        var cache = new KmemCache(this, name, size, flags, breakHigh: TotalPages > (32 * MemoryLayout.MiB >> MemoryLayout.PAGE_SHIFT));
        _caches.Add(cache);
        return cache;
    }

    public KmemCache? FindCache(string name) => _caches.FirstOrDefault(c => c.Name == name);

    public string FormatSlabinfo()
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("slabinfo - version: 2.1\n");
        sb.Append("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
        foreach (var c in _caches.AsEnumerable().Reverse())
        {
            sb.Append(ci, $"{c.Name,-17} {c.ActiveObjs,6} {c.NumObjs,6} {c.BufferSize,6} {c.Num,4} {1 << c.GfpOrder,4}");
            sb.Append(ci, $" : tunables {c.Limit,4} {c.Batchcount,4} {c.Shared,4}");
            sb.Append(ci, $" : slabdata {c.ActiveSlabs,6} {c.NumSlabs,6} {0,6}\n");
        }
        return sb.ToString();
    }
}
