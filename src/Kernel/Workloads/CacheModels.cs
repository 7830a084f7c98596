// Reference cache models a replay is compared with: Belady's OPT (evict the page whose next use
// is farthest away: the most hits any policy can get with that many frames) and a pure LRU cache
// (what libCacheSim's LRU computes). Both count every reference with a cold start.
namespace Kernel.Workloads;

public static class CacheModels
{
    /// <summary>Hits of Belady's OPT with `frames` frames.</summary>
    public static long OptHits(IReadOnlyList<long> refs, int frames)
    {
        ArgumentNullException.ThrowIfNull(refs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frames);
        int n = refs.Count;
        var next = new int[n];
        var last = new Dictionary<long, int>();
        for (int i = n - 1; i >= 0; i--)
        {
            next[i] = last.TryGetValue(refs[i], out int j) ? j : int.MaxValue;
            last[refs[i]] = i;
        }
        // Resident pages ordered by their next use (pages never used again tie at int.MaxValue, told apart by the page).
        var byNext = new SortedSet<(int Next, long Page)>();
        var nextOf = new Dictionary<long, int>();
        long hits = 0;
        for (int i = 0; i < n; i++)
        {
            long p = refs[i];
            int nx = next[i];
            if (nextOf.TryGetValue(p, out int cur))
            {
                hits++;
                byNext.Remove((cur, p));
            }
            else if (nextOf.Count >= frames)
            {
                var victim = byNext.Max;
                byNext.Remove(victim);
                nextOf.Remove(victim.Page);
            }
            nextOf[p] = nx;
            byNext.Add((nx, p));
        }
        return hits;
    }

    /// <summary>Hits of a pure LRU cache with `frames` frames.</summary>
    public static long LruHits(IReadOnlyList<long> refs, int frames)
    {
        ArgumentNullException.ThrowIfNull(refs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frames);
        var order = new LinkedList<long>();
        var nodes = new Dictionary<long, LinkedListNode<long>>();
        long hits = 0;
        foreach (long p in refs)
        {
            if (nodes.TryGetValue(p, out var node))
            {
                hits++;
                order.Remove(node);
                order.AddFirst(node);
                continue;
            }
            if (nodes.Count >= frames)
            {
                nodes.Remove(order.Last!.Value);
                order.RemoveLast();
            }
            nodes[p] = order.AddFirst(p);
        }
        return hits;
    }
}
