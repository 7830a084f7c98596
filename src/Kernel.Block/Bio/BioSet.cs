// Linux 2.6.20 fs/bio.c: struct bio_set, a mempool of bios and one of bio_vec arrays for each of
// the six biovec sizes (1, 4, 16, 64, 128, 256), all over the global "bio" and "biovec-N" slab
// caches, so bios and their vectors are emulated kernel memory (/proc/slabinfo shows them). The
// file system's set (fs_bio_set) reserves BIO_POOL_SIZE bios and, per vector size, a handful
// scaled by memory size as init_bio does. The host objects behind them are reused through
// Microsoft.Extensions.ObjectPool, so steady I/O allocates nothing on the host either.
using Kernel.Mm;
using Kernel.Mm.Slab;
using Microsoft.Extensions.ObjectPool;

namespace Kernel.Block;

public sealed class BioSet
{
    /// <summary>BIO_POOL_SIZE: the bios fs_bio_set keeps in reserve.</summary>
    public const int BIO_POOL_SIZE = 256;

    /// <summary>BIOVEC_NR_POOLS and the vector sizes of each (bvec_slabs).</summary>
    public static readonly int[] BvecSizes = [1, 4, 16, 64, 128, Bio.BIO_MAX_PAGES];

    /// <summary>sizeof(struct bio) and sizeof(struct bio_vec) on i386 2.6.20.</summary>
    public const int SizeofBio = 64;

    public const int SizeofBioVec = 12;

    private readonly MemorySubsystem _mem;
    private readonly Mempool _bioPool;
    private readonly Mempool[] _bvecPools;
    private readonly ObjectPool<Bio> _hostBios = new DefaultObjectPool<Bio>(new BioPolicy(), 16384);
    private readonly ObjectPool<BioVec[]>[] _hostVecs;

    private BioSet(MemorySubsystem mem, Mempool bioPool, Mempool[] bvecPools)
    {
        _mem = mem;
        _bioPool = bioPool;
        _bvecPools = bvecPools;
        _hostVecs = BvecSizes.Select(n => (ObjectPool<BioVec[]>)new DefaultObjectPool<BioVec[]>(new VecPolicy(n), n <= 16 ? 16384 : 1024)).ToArray();
    }

    /// <summary>bioset_create(bio_pool_size, bvec_pool_size, scale); null when the reserves cannot be filled.</summary>
    public static BioSet? Create(MemorySubsystem mem, int bioPoolSize, int bvecPoolSize, int scale)
    {
        ArgumentNullException.ThrowIfNull(mem);
        var (bioCache, vecCaches) = Caches(mem);
        var bioPool = Mempool.CreateSlabPool(mem, bioPoolSize, bioCache);
        if (bioPool is null)
        {
            return null;
        }
        var vecPools = new Mempool[BvecSizes.Length];
        int entries = bvecPoolSize;
        for (int i = 0; i < BvecSizes.Length; i++)
        {
            // biovec_create_pools: the larger vectors keep fewer in reserve, halving from `scale` on.
            if (entries > 1 && i >= scale)
            {
                entries >>= 1;
            }
            var pool = Mempool.CreateSlabPool(mem, entries, vecCaches[i]);
            if (pool is null)
            {
                bioPool.Destroy();
                foreach (var made in vecPools.Take(i))
                {
                    made.Destroy();
                }
                return null;
            }
            vecPools[i] = pool;
        }
        return new BioSet(mem, bioPool, vecPools);
    }

    /// <summary>init_bio's fs_bio_set: BIO_POOL_SIZE bios, and 1 + scale vectors of each size, scale by memory (16 MiB steps to 128 MiB).</summary>
    public static BioSet CreateFsBioSet(MemorySubsystem mem)
    {
        ArgumentNullException.ThrowIfNull(mem);
        long megabytes = mem.Zones.Sum(z => z.FreePages) >> (20 - MemoryLayout.PAGE_SHIFT); // nr_free_pages()
        int scale = megabytes <= 16 ? 0 : megabytes <= 32 ? 1 : megabytes <= 64 ? 2 : megabytes <= 96 ? 3 : megabytes <= 128 ? 4 : BvecSizes.Length;
        return Create(mem, BIO_POOL_SIZE, 1 + scale, scale) ?? throw new Kernel.Core.KernelBug("bio: can't allocate bios");
    }

    /// <summary>The reserve of bios (its CurrNr, ReserveAllocations).</summary>
    public Mempool BioPool => _bioPool;

    public IReadOnlyList<Mempool> BvecPools => _bvecPools;

    /// <summary>
    /// bio_alloc_bioset without sleeping: a bio with room for `nrIovecs` bio_vecs (rounded up to a
    /// pool size), or null when neither the caches nor the reserves have one, or when `nrIovecs`
    /// exceeds BIO_MAX_PAGES (as bvec_alloc_bs refuses it).
    /// </summary>
    public Bio? Alloc(Gfp gfp, int nrIovecs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nrIovecs);
        int idx = PoolIndex(nrIovecs);
        if (idx == -2)
        {
            return null;
        }
        var bioObj = _bioPool.Alloc(gfp);
        if (bioObj.IsNone)
        {
            return null;
        }
        var vecObj = SlabObject.None;
        if (idx >= 0)
        {
            vecObj = _bvecPools[idx].Alloc(gfp);
            if (vecObj.IsNone)
            {
                _bioPool.Free(bioObj);
                return null;
            }
        }
        return Build(bioObj, idx, vecObj);
    }

    /// <summary>bio_alloc_bioset: with __GFP_WAIT it sleeps on the pools rather than fail (null only past BIO_MAX_PAGES).</summary>
    public ValueTask<Bio?> AllocAsync(Gfp gfp, int nrIovecs)
    {
        // The pools usually have one: then no async frame (this is on every bio submitted).
        var bio = Alloc(gfp, nrIovecs);
        return bio is not null || !gfp.CanWait() || PoolIndex(nrIovecs) == -2
            ? new ValueTask<Bio?>(bio)
            : AllocSleeping(gfp, PoolIndex(nrIovecs));
    }

    private async ValueTask<Bio?> AllocSleeping(Gfp gfp, int idx)
    {
        var bioObj = await _bioPool.AllocAsync(gfp);
        var vecObj = idx >= 0 ? await _bvecPools[idx].AllocAsync(gfp) : SlabObject.None;
        return Build(bioObj, idx, vecObj);
    }

    private Bio Build(SlabObject bioObj, int idx, SlabObject vecObj)
    {
        var bio = _hostBios.Get();
        bio.Init();
        bio.Set = this;
        bio.SlabObj = bioObj;
        bio.PoolIdx = idx;
        bio.VecSlabObj = vecObj;
        bio.IoVec = idx >= 0 ? _hostVecs[idx].Get() : [];
        Allocated++;
        return bio;
    }

    /// <summary>Bios of this set not yet freed.</summary>
    public long Allocated { get; private set; }

    /// <summary>bio_free: the vector and the bio go back to their pools.</summary>
    internal void Free(Bio bio)
    {
        if (bio.PoolIdx >= 0)
        {
            _bvecPools[bio.PoolIdx].Free(bio.VecSlabObj);
            Array.Clear(bio.IoVec);
            _hostVecs[bio.PoolIdx].Return(bio.IoVec);
        }
        _bioPool.Free(bio.SlabObj);
        bio.SlabObj = SlabObject.None;
        bio.VecSlabObj = SlabObject.None;
        bio.PoolIdx = -1;
        bio.IoVec = [];
        bio.Set = null;
        Allocated--;
        _hostBios.Return(bio);
    }

    /// <summary>bvec_alloc_bs's switch: the smallest pool that holds `n` vectors; -1 for none needed, -2 past BIO_MAX_PAGES.</summary>
    private static int PoolIndex(int n)
    {
        if (n == 0)
        {
            return -1;
        }
        for (int i = 0; i < BvecSizes.Length; i++)
        {
            if (n <= BvecSizes[i])
            {
                return i;
            }
        }
        return -2;
    }

    /// <summary>The global "bio" and "biovec-N" caches (bio_slab, bvec_slabs), made on first use.</summary>
    private static (KmemCache Bio, KmemCache[] Vecs) Caches(MemorySubsystem mem)
    {
        var bio = mem.FindCache("bio") ?? mem.KmemCacheCreate("bio", SizeofBio, SlabFlags.SLAB_HWCACHE_ALIGN | SlabFlags.SLAB_PANIC);
        var vecs = BvecSizes.Select(n =>
            mem.FindCache($"biovec-{n}") ?? mem.KmemCacheCreate($"biovec-{n}", n * SizeofBioVec, SlabFlags.SLAB_HWCACHE_ALIGN | SlabFlags.SLAB_PANIC)).ToArray();
        return (bio, vecs);
    }

    private sealed class BioPolicy : PooledObjectPolicy<Bio>
    {
        public override Bio Create() => new();

        public override bool Return(Bio obj) => true;
    }

    private sealed class VecPolicy(int n) : PooledObjectPolicy<BioVec[]>
    {
        public override BioVec[] Create() => new BioVec[n];

        public override bool Return(BioVec[] obj) => true;
    }
}
