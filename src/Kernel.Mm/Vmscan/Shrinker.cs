// Linux 2.6.20 mm/vmscan.c set_shrinker / remove_shrinker / shrink_slab: caches that can give
// memory back (2.6.20's dentry and inode caches, a file system's own) register a callback that
// reports how many objects it could free (nr_to_scan 0) and frees up to nr_to_scan of them.
// Reclaim asks each in proportion to its own LRU scanning: 4 * scanned / seeks of every lru_pages
// pages' worth of objects, carried over between calls, in batches of SHRINK_BATCH, never more than
// twice what the cache holds. Slab pages freed while a shrinker runs count as reclaimed pages
// (reclaim_state->reclaimed_slab). The emulator's own slab caches (anon_vma, pte_chain, bios) hold
// no ageable objects, so none is registered by default; a harness or a file system registers its
// cache with MemorySubsystem.SetShrinker.
using Kernel.Core;

namespace Kernel.Mm.Vmscan;

/// <summary>
/// struct shrinker: a cache's callback, `Shrink(nrToScan, gfp)`, returns the objects left (with
/// nrToScan 0, the objects it could free), or -1 when it cannot shrink now (e.g. __GFP_FS clear).
/// </summary>
public sealed class Shrinker
{
    /// <summary>DEFAULT_SEEKS: the cost of recreating an object, relative to a page read.</summary>
    public const int DEFAULT_SEEKS = 2;

    /// <summary>SHRINK_BATCH: objects asked for per call.</summary>
    public const int SHRINK_BATCH = 128;

    internal Shrinker(Func<int, Gfp, int> shrink, int seeks)
    {
        Callback = shrink;
        Seeks = seeks;
    }

    internal Func<int, Gfp, int> Callback { get; }

    /// <summary>seeks: a higher value makes reclaim ask this cache for fewer objects.</summary>
    public int Seeks { get; }

    /// <summary>nr: objects owed to the next call (what a call scanned less than its share).</summary>
    public long Nr { get; internal set; }

    /// <summary>Objects this shrinker was asked to scan, in all.</summary>
    public long Scanned { get; internal set; }
}

public sealed partial class PageReclaim
{
    private readonly List<Shrinker> _shrinkers = new();

    /// <summary>The registered shrinkers (shrinker_list), in registration order.</summary>
    public IReadOnlyList<Shrinker> Shrinkers => _shrinkers;

    /// <summary>slabs_scanned in /proc/vmstat: objects the shrinkers were asked to scan.</summary>
    public long SlabsScanned { get; private set; }

    internal Shrinker SetShrinker(int seeks, Func<int, Gfp, int> shrink)
    {
        ArgumentNullException.ThrowIfNull(shrink);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seeks);
        var s = new Shrinker(shrink, seeks);
        _shrinkers.Add(s);
        return s;
    }

    internal bool RemoveShrinker(Shrinker s) => _shrinkers.Remove(s);

    /// <summary>
    /// shrink_slab: after reclaim scanned `scanned` of `lruPages` LRU pages, ask each shrinker for
    /// its share. Returns the objects freed; `reclaimedSlab` gets the slab pages freed meanwhile.
    /// </summary>
    internal long ShrinkSlab(long scanned, Gfp gfp, long lruPages, out long reclaimedSlab)
    {
        reclaimedSlab = 0;
        if (_shrinkers.Count == 0)
        {
            return 0;
        }
        if (scanned == 0)
        {
            scanned = SWAP_CLUSTER_MAX;
        }
        long slabBefore = _mem.SlabPagesFreed;
        long ret = 0;
        foreach (var s in _shrinkers.ToArray())
        {
            long maxPass = Math.Max(0, s.Callback(0, gfp));
            long delta = 4 * scanned / s.Seeks * maxPass / (lruPages + 1);
            s.Nr = Math.Min(s.Nr + delta, maxPass * 2); // never more than twice what it holds
            long totalScan = s.Nr;
            s.Nr = 0;
            while (totalScan >= Shrinker.SHRINK_BATCH)
            {
                int before = s.Callback(0, gfp);
                int after = s.Callback(Shrinker.SHRINK_BATCH, gfp);
                if (after == -1)
                {
                    break;
                }
                if (after < before)
                {
                    ret += before - after;
                }
                SlabsScanned += Shrinker.SHRINK_BATCH;
                s.Scanned += Shrinker.SHRINK_BATCH;
                totalScan -= Shrinker.SHRINK_BATCH;
            }
            s.Nr += totalScan;
        }
        reclaimedSlab = _mem.SlabPagesFreed - slabBefore;
        return ret;
    }
}
