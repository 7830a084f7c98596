// Linux 2.6.20 mm/mempool.c, mempool_create_slab_pool: a reserve of min_nr objects of a slab
// cache, taken at creation, so that an allocation that must not fail (a bio for writeback under
// memory pressure) can always make progress. mempool_alloc tries the cache first without waiting
// or reclaiming, then the reserve; with __GFP_WAIT and the reserve empty it sleeps in I/O wait on
// the pool's queue (at most 5 s at a time) until an object comes back. mempool_free refills the
// reserve before it gives objects back to the cache, and wakes a sleeper.
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm.Slab;

namespace Kernel.Mm;

public sealed class Mempool
{
    private readonly MemorySubsystem _mem;
    private readonly Stack<SlabObject> _reserve = new();

    /// <summary>mempool_create_slab_pool(min_nr, cache): the reserve is filled now; -ENOMEM (null) if it cannot be.</summary>
    public static Mempool? CreateSlabPool(MemorySubsystem mem, int minNr, KmemCache cache)
    {
        ArgumentNullException.ThrowIfNull(mem);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegative(minNr);
        var pool = new Mempool(mem, minNr, cache);
        for (int i = 0; i < minNr; i++)
        {
            var obj = cache.Alloc(Gfp.GFP_KERNEL);
            if (obj.IsNone)
            {
                pool.Destroy();
                return null;
            }
            pool._reserve.Push(obj);
        }
        return pool;
    }

    private Mempool(MemorySubsystem mem, int minNr, KmemCache cache)
    {
        _mem = mem;
        MinNr = minNr;
        Cache = cache;
        Wait = new WaitQueueHead($"mempool:{cache.Name}");
    }

    public KmemCache Cache { get; }

    /// <summary>min_nr: the reserve's size.</summary>
    public int MinNr { get; }

    /// <summary>curr_nr: objects in the reserve now.</summary>
    public int CurrNr => _reserve.Count;

    /// <summary>pool->wait: where an allocation that must not fail sleeps for a free.</summary>
    public WaitQueueHead Wait { get; }

    /// <summary>Allocations served from the reserve because the cache had nothing.</summary>
    public long ReserveAllocations { get; private set; }

    /// <summary>mempool_alloc without sleeping: the cache (no waiting, no reclaim), else the reserve, else None.</summary>
    public SlabObject Alloc(Gfp gfp)
    {
        var obj = Cache.Alloc(NoWaitMask(gfp));
        if (!obj.IsNone)
        {
            return obj;
        }
        if (_reserve.Count > 0)
        {
            ReserveAllocations++;
            return _reserve.Pop();
        }
        return SlabObject.None;
    }

    /// <summary>
    /// mempool_alloc: with __GFP_WAIT it never fails, sleeping (uninterruptible, counted as I/O
    /// wait) until an object is freed to the pool; without, it is Alloc.
    /// </summary>
    public ValueTask<SlabObject> AllocAsync(Gfp gfp)
    {
        var obj = Alloc(gfp);
        return !obj.IsNone || !gfp.CanWait() ? new ValueTask<SlabObject>(obj) : AllocSleeping(gfp);
    }

    private async ValueTask<SlabObject> AllocSleeping(Gfp gfp)
    {
        var m = _mem.Machine;
        while (true)
        {
            Wait.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE);
            if (_reserve.Count == 0)
            {
                await m.IoScheduleTimeout(5 * m.Hz.Value);
            }
            Wait.FinishWait(m);
            // 2.6.20 retries with the caller's full mask here (it may now reclaim); the cache is
            // tried again without waiting, as page reclaim for it arrives with the reclaim work.
            var obj = Alloc(gfp);
            if (!obj.IsNone)
            {
                return obj;
            }
        }
    }

    /// <summary>mempool_free: refill the reserve first (and wake a sleeper), else back to the cache.</summary>
    public void Free(SlabObject obj)
    {
        if (obj.IsNone)
        {
            throw new Kernel.Core.KernelBug($"mempool_free of no object to {Cache.Name}'s pool");
        }
        if (_reserve.Count < MinNr)
        {
            _reserve.Push(obj);
            Wait.WakeUp(TaskState.TASK_UNINTERRUPTIBLE, 1);
            return;
        }
        Cache.Free(obj);
    }

    /// <summary>mempool_destroy: the reserve goes back to the cache.</summary>
    public void Destroy()
    {
        while (_reserve.Count > 0)
        {
            Cache.Free(_reserve.Pop());
        }
    }

    private static Gfp NoWaitMask(Gfp gfp) =>
        (gfp | Gfp.__GFP_NOMEMALLOC | Gfp.__GFP_NORETRY | Gfp.__GFP_NOWARN) & ~(Gfp.__GFP_WAIT | Gfp.__GFP_IO);
}
