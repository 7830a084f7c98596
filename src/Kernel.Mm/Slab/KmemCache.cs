// Linux 2.6.20 mm/slab.c, reduced to what makes kernel metadata cost real memory: a cache of
// fixed-size objects carved from slabs of 2^gfporder lowmem pages taken from the buddy
// allocator (marked PG_slab), with per-CPU array caches (limit/batchcount as enable_cpucache
// sets them) in front of full/partial/free slab lists. The objects themselves are host objects
// kept by the subsystem that owns them; a SlabObject is their emulated-memory footprint.
using Kernel.Core;

namespace Kernel.Mm.Slab;

/// <summary>A slab-allocated object: which slab (by its first pfn) and which slot.</summary>
public readonly record struct SlabObject(int SlabPfn, int Index)
{
    public static SlabObject None => new(-1, -1);

    public bool IsNone => SlabPfn < 0;
}

[Flags]
public enum SlabFlags
{
    None = 0,
    /// <summary>Align objects to the L1 cache line (32 bytes on the modelled i386).</summary>
    SLAB_HWCACHE_ALIGN = 0x2000,
    /// <summary>Objects are reclaimable (dentries, inodes): counted as SReclaimable.</summary>
    SLAB_RECLAIM_ACCOUNT = 0x20000,
    /// <summary>Panic instead of failing (core caches).</summary>
    SLAB_PANIC = 0x40000,
}

public sealed class KmemCache
{
    public const int SLAB_LIMIT = int.MaxValue - 1;
    public const int MAX_GFP_ORDER = 5;
    public const int L1_CACHE_BYTES = 32;
    public const int BYTES_PER_WORD = 4;
    /// <summary>sizeof(struct slab) on i386 (list_head, colouroff, s_mem, inuse, free, nodeid).</summary>
    public const int SizeofSlab = 28;
    public const int SizeofBufctl = 4;

    private readonly MemorySubsystem _mm;
    private readonly Dictionary<int, SlabDesc> _slabs = new();
    private readonly SortedSet<int> _partial = new();
    private readonly SortedSet<int> _free = new();
    private readonly Stack<SlabObject>[] _arrayCache;

    private sealed class SlabDesc
    {
        public int InUse;
        public readonly Stack<int> FreeSlots = new();
    }

    internal KmemCache(MemorySubsystem mm, string name, int size, SlabFlags flags, bool breakHigh)
    {
        _mm = mm;
        Name = name;
        ObjectSize = size;
        Flags = flags;
        int align = (flags & SlabFlags.SLAB_HWCACHE_ALIGN) != 0 && size > L1_CACHE_BYTES / 2 ? L1_CACHE_BYTES : BYTES_PER_WORD;
        BufferSize = (size + align - 1) / align * align;
        OffSlab = BufferSize >= MemoryLayout.PAGE_SIZE >> 3;
        CalculateSlabOrder(align, breakHigh);
        if (Num == 0)
        {
            throw new ArgumentException($"kmem_cache_create: {name}: object size {size} too large.");
        }
        // enable_cpucache
        Limit = BufferSize > 131072 ? 1 : BufferSize > MemoryLayout.PAGE_SIZE ? 8 : BufferSize > 1024 ? 24 : BufferSize > 256 ? 54 : 120;
        Batchcount = (Limit + 1) / 2;
        int cpus = mm.Machine.Cpus.Length;
        Shared = cpus > 1 && BufferSize <= MemoryLayout.PAGE_SIZE ? 8 : 0;
        FreeLimit = (1 + cpus) * Batchcount + Num;
        _arrayCache = new Stack<SlabObject>[cpus];
        for (int i = 0; i < cpus; i++)
        {
            _arrayCache[i] = new Stack<SlabObject>();
        }
    }

    public string Name { get; }

    public int ObjectSize { get; }

    /// <summary>buffer_size: the object size after alignment.</summary>
    public int BufferSize { get; }

    public SlabFlags Flags { get; }

    /// <summary>Objects per slab.</summary>
    public int Num { get; private set; }

    public int GfpOrder { get; private set; }

    public bool OffSlab { get; }

    public int Limit { get; }

    public int Batchcount { get; }

    public int Shared { get; }

    public int FreeLimit { get; }

    public long NumSlabs => _slabs.Count;

    public long ActiveSlabs => _slabs.Count - _free.Count;

    public long NumObjs => _slabs.Count * (long)Num;

    /// <summary>
    /// Objects out of their slabs, in use or parked in the per-CPU arrays: slabinfo's active_objs.
    /// </summary>
    public long ActiveObjs { get; private set; }

    /// <summary>Objects allocated and not yet freed by their users.</summary>
    public long InUseObjs => ActiveObjs - CachedObjs;

    /// <summary>Pages held by this cache's slabs.</summary>
    public long Pages => _slabs.Count * (1L << GfpOrder);

    public long Allocations { get; private set; }

    private void CalculateSlabOrder(int align, bool breakHigh)
    {
        int breakOrder = breakHigh ? 1 : 0;
        for (int order = 0; order <= MAX_GFP_ORDER; order++)
        {
            int slabSize = MemoryLayout.PAGE_SIZE << order;
            int num, mgmt;
            if (OffSlab)
            {
                num = slabSize / BufferSize;
                mgmt = 0;
            }
            else
            {
                num = (slabSize - SizeofSlab) / (BufferSize + SizeofBufctl);
                if (Align(SizeofSlab + num * SizeofBufctl, align) + num * BufferSize > slabSize)
                {
                    num--;
                }
                mgmt = Align(SizeofSlab + num * SizeofBufctl, align);
            }
            if (num <= 0)
            {
                continue;
            }
            if (OffSlab && num > (BufferSize - SizeofSlab) / SizeofBufctl)
            {
                break;
            }
            Num = num;
            GfpOrder = order;
            int leftOver = slabSize - num * BufferSize - mgmt;
            if ((Flags & SlabFlags.SLAB_RECLAIM_ACCOUNT) != 0 || order >= breakOrder || leftOver * 8 <= slabSize)
            {
                break;
            }
        }
    }

    private static int Align(int x, int a) => (x + a - 1) / a * a;

    /// <summary>kmem_cache_alloc: an object slot, or None when no slab page can be had.</summary>
    public SlabObject Alloc(Gfp gfp)
    {
        var ac = _arrayCache[_mm.Machine.ThisCpu.Id];
        if (ac.Count == 0 && !CacheAllocRefill(ac, gfp))
        {
            return SlabObject.None;
        }
        Allocations++;
        _mm.Machine.Charge(_mm.Options.Costs.SlabObjectNs);
        return ac.Pop();
    }

    /// <summary>kmem_cache_free: back to this CPU's array; a full array flushes a batch to the slabs.</summary>
    public void Free(SlabObject obj)
    {
        if (obj.IsNone || !_slabs.ContainsKey(obj.SlabPfn))
        {
            throw new KernelBug($"kmem_cache_free: {Name}: object {obj} does not belong to this cache");
        }
        _mm.Machine.Charge(_mm.Options.Costs.SlabObjectNs);
        var ac = _arrayCache[_mm.Machine.ThisCpu.Id];
        if (ac.Count >= Limit)
        {
            for (int i = 0; i < Batchcount && ac.Count > 0; i++)
            {
                FreeBlock(ac.Pop());
            }
        }
        ac.Push(obj);
    }

    /// <summary>cache_alloc_refill: move up to batchcount objects from the slabs into the array.</summary>
    private bool CacheAllocRefill(Stack<SlabObject> ac, Gfp gfp)
    {
        for (int i = 0; i < Batchcount; i++)
        {
            int slab = _partial.Count > 0 ? _partial.Min : _free.Count > 0 ? _free.Min : CacheGrow(gfp);
            if (slab < 0)
            {
                return ac.Count > 0;
            }
            var d = _slabs[slab];
            int idx = d.FreeSlots.Pop();
            if (d.InUse++ == 0)
            {
                _free.Remove(slab);
                _partial.Add(slab);
            }
            if (d.InUse == Num)
            {
                _partial.Remove(slab);
            }
            ActiveObjs++;
            ac.Push(new SlabObject(slab, idx));
        }
        return true;
    }

    /// <summary>cache_grow: a new slab of 2^gfporder lowmem pages.</summary>
    private int CacheGrow(Gfp gfp)
    {
        int pfn = _mm.AllocPages((gfp & ~(Gfp.__GFP_HIGHMEM | Gfp.__GFP_COLD)) | Gfp.__GFP_NOWARN, GfpOrder);
        if (pfn < 0)
        {
            return -1;
        }
        for (int i = 0; i < 1 << GfpOrder; i++)
        {
            _mm.PageAt(pfn + i).Set(PageFlag.PG_slab);
        }
        var d = new SlabDesc();
        for (int i = Num - 1; i >= 0; i--)
        {
            d.FreeSlots.Push(i);
        }
        _slabs.Add(pfn, d);
        _free.Add(pfn);
        _mm.SlabPages += 1L << GfpOrder;
        return pfn;
    }

    /// <summary>free_block: an object back to its slab; free slabs beyond free_limit are destroyed.</summary>
    private void FreeBlock(SlabObject obj)
    {
        var d = _slabs[obj.SlabPfn];
        if (d.InUse == Num)
        {
            _partial.Add(obj.SlabPfn);
        }
        d.FreeSlots.Push(obj.Index);
        ActiveObjs--;
        if (--d.InUse == 0)
        {
            _partial.Remove(obj.SlabPfn);
            _free.Add(obj.SlabPfn);
            if ((long)_free.Count * Num > FreeLimit)
            {
                SlabDestroy(obj.SlabPfn);
            }
        }
    }

    private void SlabDestroy(int pfn)
    {
        _free.Remove(pfn);
        _slabs.Remove(pfn);
        for (int i = 0; i < 1 << GfpOrder; i++)
        {
            _mm.PageAt(pfn + i).Clear(PageFlag.PG_slab);
        }
        _mm.SlabPages -= 1L << GfpOrder;
        _mm.SlabPagesFreed += 1L << GfpOrder;
        _mm.FreePages(pfn, GfpOrder);
    }

    /// <summary>kmem_cache_shrink: flush the per-CPU arrays and release every free slab.</summary>
    public void Shrink()
    {
        foreach (var ac in _arrayCache)
        {
            while (ac.Count > 0)
            {
                FreeBlock(ac.Pop());
            }
        }
        foreach (int pfn in _free.ToArray())
        {
            SlabDestroy(pfn);
        }
    }

    public bool OwnsPage(int pfn) => _slabs.ContainsKey(pfn);

    /// <summary>Objects parked in the per-CPU arrays (allocated from the slabs' view).</summary>
    public long CachedObjs => _arrayCache.Sum(a => a.Count);
}
