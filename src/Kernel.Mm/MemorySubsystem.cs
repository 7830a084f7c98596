// The memory subsystem of one kernel: the root that owns the node (pg_data_t, PglistData) and
// what is not per node: the allocator's entry points, the page contents, slab, rmap, tmpfs, the
// page cache's address_space table, overcommit, the page wait tables, the sleeping slow paths.
// This file is boot-time memory initialisation (mm/page_alloc.c free_area_init, memmap_init,
// free_all_bootmem, init_per_zone_pages_min, setup_per_zone_lowmem_reserve, zone_batchsize and
// setup_pageset); the other parts are partial files named after what they model.
using Kernel.Core;

namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    // Page content buffers by handle (Page.Contents); handle 0 means "never written" and is unused.
    private ContentsBuffer[] _buffers = new ContentsBuffer[64];
    private int _bufferCount = 1;
    private readonly Stack<int> _freeContents = new();

    public MemorySubsystem(Machine machine, MemoryOptions options)
    {
        Paging = Memory.Paging.For(options.Arch);
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Machine = machine;
        Options = options;
        Tracepoints = new MmTracepoints(machine.Trace);
        Arch = options.Arch;
        long pages = options.MemoryBytes >> MemoryLayout.PAGE_SHIFT;
        var memMap = GC.AllocateUninitializedArray<Page>((int)pages);
        var specs = MemoryLayout.Zones(Arch, options.MemoryBytes);
        var zones = new Zone[specs.Count];
        for (int i = 0; i < specs.Count; i++)
        {
            zones[i] = new Zone(i, specs[i], machine.Cpus.Length, SizeofStructPage);
        }
        Node = new PglistData(0, memMap, zones);
        MemMap = memMap;
        Zones = zones;
        InitMemMap();
        LowmemReserveRatio = MemoryLayout.LowmemReserveRatio(Arch);
        SetupPerZonePagesMin(InitialMinFreeKbytes());
        SetupPerZoneLowmemReserve();
        foreach (var z in Zones)
        {
            int batch = ZoneBatchsize(z);
            foreach (var ps in z.Pageset)
            {
                SetupPageset(ps, batch);
            }
        }
        // empty_zero_page lives in the kernel image (reserved), right after the low 1 MiB.
        ZeroPagePfn = (int)(Options.LowReservedBytes >> MemoryLayout.PAGE_SHIFT);
        MmCachep = KmemCacheCreate("mm_struct", SizeofMmStruct, Slab.SlabFlags.SLAB_HWCACHE_ALIGN | Slab.SlabFlags.SLAB_PANIC);
        VmAreaCachep = KmemCacheCreate("vm_area_struct", SizeofVmAreaStruct, Slab.SlabFlags.SLAB_PANIC);
        Shmem = new Shmem.Tmpfs(this);
        Rmap = new Rmap.ReverseMap(this, options.Rmap);
        InitLru(machine.Cpus.Length);
        Swap = new Swap.SwapAreas(this);
        Oom = new Vmscan.OomKiller(this);
        if (options.Reclaim)
        {
            Reclaim = new Vmscan.PageReclaim(this);
            DirectReclaim = Reclaim;
        }
        SwapOut24 = new Vmscan.SwapOut24(this);
        Overcommit = new Memory.Overcommit(this);
        PageWait = new PageWaitTable(this);
        Writeback = new Writeback.PageWriteback(this);
        BackingDev = new BackingDev(machine);
        RegisterProcFiles(machine.ProcFiles);
    }

    /// <summary>Dirty page accounting, throttling and pdflush (mm/page-writeback.c, mm/pdflush.c).</summary>
    public Writeback.PageWriteback Writeback { get; }

    /// <summary>set_page_dirty: through the page's mapping's a_ops (accounting a file page), or just the bit for an anonymous page.</summary>
    public void SetPageDirty(int pfn)
    {
        if (PageMapping(pfn) is { } mapping)
        {
            mapping.AOps.SetPageDirty(this, mapping, pfn);
        }
        else
        {
            PageAt(pfn).Set(PageFlag.PG_dirty);
        }
    }

    /// <summary>set_page_writeback: the page's write has started (NR_WRITEBACK).</summary>
    public void SetPageWriteback(int pfn)
    {
        ref var page = ref PageAt(pfn);
        if (page.Test(PageFlag.PG_writeback))
        {
            throw new KernelBug($"set_page_writeback: pfn {pfn} is under writeback already");
        }
        page.Set(PageFlag.PG_writeback);
        Writeback.AccountWritebackStart();
    }

    /// <summary>The reverse map of this kernel (its mode is MemoryOptions.Rmap).</summary>
    public Rmap.ReverseMap Rmap { get; }

    /// <summary>lock_page / unlock_page / wait_on_page_locked over the zones' hashed wait tables.</summary>
    public PageWaitTable PageWait { get; }

    /// <summary>2.4's virtual-scan reclaimer (swap_out), for comparing with the rmap-driven 2.6 one.</summary>
    public Vmscan.SwapOut24 SwapOut24 { get; }

    /// <summary>The tmpfs instance (think /dev/shm) and shared anonymous memory.</summary>
    public Shmem.Tmpfs Shmem { get; }

    // page->mapping handles: address_space handles are even (h << 1), anon_vma handles odd.
    private readonly List<Filemap.AddressSpace?> _spaces = new() { null };

    /// <summary>A new address_space for `inode` whose pages move through `aops`.</summary>
    public Filemap.AddressSpace NewAddressSpace(Filemap.Inode inode, Filemap.AddressSpaceOperations aops)
    {
        int h = _spaces.Count;
        var space = new Filemap.AddressSpace(h << 1, inode, aops);
        _spaces.Add(space);
        return space;
    }

    internal void ReleaseAddressSpace(Filemap.AddressSpace space) => _spaces[space.Handle >> 1] = null;

    /// <summary>NR_FILE_PAGES: pages in any page cache ("Cached" in /proc/meminfo).</summary>
    public long NrFilePages { get; internal set; }

    /// <summary>page_mapping(): the address_space of a file page, null for anonymous or free pages.</summary>
    public Filemap.AddressSpace? AddressSpaceOf(int mapping) =>
        mapping == 0 || (mapping & Page.PAGE_MAPPING_ANON) != 0 ? null : _spaces[mapping >> 1];

    /// <summary>page_mapping(): the swap cache (swapper_space) for a page in it, else the file page's address_space; null for anonymous or free pages.</summary>
    public Filemap.AddressSpace? PageMapping(int pfn)
    {
        ref var page = ref PageAt(pfn);
        return page.Test(PageFlag.PG_swapcache) ? Swap.SwapperSpace : AddressSpaceOf(page.Mapping);
    }

    /// <summary>
    /// sizeof(struct page) in the modelled kernel: 32 bytes on i386 (flags, _count, _mapcount,
    /// private, mapping, index, lru), 56 on x86_64. The host's Page is 40 bytes (a 64-bit index; it also holds
    /// the contents handle); the emulated mem_map reserves the modelled size.
    /// </summary>
    public int SizeofStructPage => Arch == Architecture.I386Pae ? 32 : 56;

    /// <summary>sizeof(struct mm_struct) and sizeof(struct vm_area_struct) on 2.6.20 i386.</summary>
    public const int SizeofMmStruct = 448;
    public const int SizeofVmAreaStruct = 88;

    public Memory.Paging Paging { get; }

    /// <summary>ZERO_PAGE: the reserved frame every untouched anonymous read maps.</summary>
    public int ZeroPagePfn { get; }

    public Slab.KmemCache MmCachep { get; }

    public Slab.KmemCache VmAreaCachep { get; }

    /// <summary>Every live address space (mmlist), for the invariant checker and rmap by scanning.</summary>
    public List<Memory.MmStruct> Mms { get; } = new();

    /// <summary>Page-table frames in use (NR_PAGETABLE).</summary>
    public long PageTablePages { get; internal set; }

    public Machine Machine { get; }

    /// <summary>The memory code's tracepoints (page_fault_user, mm_page_alloc), registered at boot.</summary>
    public MmTracepoints Tracepoints { get; }

    public MemoryOptions Options { get; }

    public Architecture Arch { get; }

    /// <summary>contig_page_data: the one node of this UMA machine (NODE_DATA(0)).</summary>
    public PglistData Node { get; }

    /// <summary>mem_map: one Page per frame, indexed by pfn (the node's node_mem_map). Access by ref.</summary>
    public Page[] MemMap { get; }

    /// <summary>mm/oom_kill.c: the OOM killer the allocator calls when reclaim frees nothing.</summary>
    public Vmscan.OomKiller Oom { get; }

    /// <summary>mm/swapfile.c: the swap areas (swapon, swapoff, /proc/swaps).</summary>
    public Swap.SwapAreas Swap { get; }

    /// <summary>mm/vmscan.c: kswapd and the reclaim direct reclaim runs; null with MemoryOptions.Reclaim off.</summary>
    public Vmscan.PageReclaim? Reclaim { get; }

    /// <summary>The node's zones (node_zones).</summary>
    public Zone[] Zones { get; }

    public long TotalPages => MemMap.Length;

    /// <summary>totalram_pages: frames handed to the buddy allocator at boot.</summary>
    public long TotalRamPages { get; private set; }

    /// <summary>Frames reserved at boot: low memory hole, kernel image, mem_map itself.</summary>
    public long ReservedPages { get; private set; }

    public long TotalHighPages => Zones.Where(z => z.IsHighmem).Sum(z => z.PresentPages - ReservedIn(z));

    public int MinFreeKbytes { get; private set; }

    public ref Page PageAt(int pfn) => ref MemMap[pfn];

    public Zone ZoneOf(int pfn) => Zones[MemMap[pfn].ZoneIndex];

    public Zone? ZoneByType(ZoneType t) => Zones.FirstOrDefault(z => z.Type == t);

    private long ReservedIn(Zone z) => Math.Clamp(ReservedPages - z.ZoneStartPfn, 0, z.SpannedPages);

    /// <summary>Zonelist for a gfp: the allowed zones, highest first (build_zonelists for one node).</summary>
    public Zone[] ZonelistFor(Gfp gfp)
    {
        var want = gfp.GfpZone();
        // Zones this architecture does not have fold down (no DMA32 on i386, no highmem on x86_64).
        int top = -1;
        for (int i = 0; i < Zones.Length; i++)
        {
            if (Zones[i].Type <= want)
            {
                top = i;
            }
        }
        return Node.Zonelist(top);
    }

    /// <summary>memmap_init + free_all_bootmem: reserve the boot frames, free the rest in max-order blocks.</summary>
    private void InitMemMap()
    {
        long memmapBytes = (long)MemMap.Length * SizeofStructPage;
        long reservedBytes = Options.LowReservedBytes + Options.KernelImageBytes + memmapBytes;
        ReservedPages = Math.Min(MemMap.Length, (reservedBytes + MemoryLayout.PAGE_SIZE - 1) >> MemoryLayout.PAGE_SHIFT);
        foreach (var z in Zones)
        {
            uint zoneBits = (uint)z.Index << Page.ZONES_PGSHIFT;
            int start = (int)z.ZoneStartPfn;
            int end = (int)(z.ZoneStartPfn + z.SpannedPages);
            var span = MemMap.AsSpan(start, end - start);
            for (int i = 0; i < span.Length; i++)
            {
                ref var page = ref span[i];
                page.Flags = zoneBits | (1u << (int)PageFlag.PG_reserved);
                page.Count = 1;
                page.MapCount = -1;
                page.Mapping = 0;
                page.Index = 0;
                page.Private = 0;
                page.LruNext = -1;
                page.LruPrev = -1;
                page.Contents = 0;
            }
            // Free everything above the reserved frames, in the largest aligned blocks that fit.
            long pfn = Math.Max(z.ZoneStartPfn, ReservedPages);
            while (pfn < end)
            {
                int order = Zone.MAX_ORDER - 1;
                while (order > 0 && ((pfn & ((1L << order) - 1)) != 0 || pfn + (1L << order) > end))
                {
                    order--;
                }
                for (long i = pfn; i < pfn + (1L << order); i++)
                {
                    ref var pg = ref MemMap[i];
                    pg.Clear(PageFlag.PG_reserved);
                    pg.Count = 0;
                }
                FreeOneBlock(z, (int)pfn, order);
                TotalRamPages += 1L << order;
                pfn += 1L << order;
            }
        }
    }

    /// <summary>init_per_zone_pages_min: min_free_kbytes = int_sqrt(lowmem_kbytes * 16), clamped to [128, 65536].</summary>
    private int InitialMinFreeKbytes()
    {
        if (Options.MinFreeKbytes is int fixedValue)
        {
            return fixedValue;
        }
        // nr_free_buffer_pages(): the GFP_USER zonelist's present pages above pages_high (0 at boot).
        long lowmemPages = ZonelistFor(Gfp.GFP_USER).Sum(z => z.PresentPages);
        long lowmemKbytes = lowmemPages * (MemoryLayout.PAGE_SIZE >> 10);
        return (int)Math.Clamp(MemoryLayout.IntSqrt(lowmemKbytes * 16), 128, 65536);
    }

    /// <summary>setup_per_zone_pages_min (2.6.20), also run when /proc/sys/vm/min_free_kbytes is written.</summary>
    public void SetupPerZonePagesMin(int minFreeKbytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minFreeKbytes, 0);
        MinFreeKbytes = minFreeKbytes;
        long pagesMin = minFreeKbytes >> (MemoryLayout.PAGE_SHIFT - 10);
        long lowmemPages = Zones.Where(z => !z.IsHighmem).Sum(z => z.PresentPages);
        foreach (var z in Zones)
        {
            long tmp = lowmemPages == 0 ? 0 : pagesMin * z.PresentPages / lowmemPages;
            if (z.IsHighmem)
            {
                // __GFP_HIGH and PF_MEMALLOC rarely want highmem: a small, capped pages_min.
                z.PagesMin = Math.Clamp(z.PresentPages / 1024, 32, 128);
            }
            else
            {
                z.PagesMin = tmp;
            }
            z.PagesLow = z.PagesMin + (tmp >> 2);
            z.PagesHigh = z.PagesMin + (tmp >> 1);
        }
        Overcommit?.CalculateTotalReservePages();
    }

    /// <summary>setup_per_zone_lowmem_reserve: a lower zone keeps back higher zones' pages / ratio.</summary>
    private void SetupPerZoneLowmemReserve()
    {
        var ratio = LowmemReserveRatio;
        foreach (var z in Zones)
        {
            z.LowmemReserve = new long[Zones.Length];
        }
        for (int j = 0; j < Zones.Length; j++)
        {
            long present = Zones[j].PresentPages;
            for (int idx = j - 1; idx >= 0; idx--)
            {
                int r = Math.Max(1, ratio[Math.Min(idx, ratio.Length - 1)]);
                Zones[idx].LowmemReserve[j] = present / r;
                present += Zones[idx].PresentPages;
            }
        }
        Overcommit?.CalculateTotalReservePages();
    }

    /// <summary>zone_batchsize: about 1/1000 of the zone, at most 512 KiB, /4, then 2^n - 1.</summary>
    public static int ZoneBatchsize(Zone zone)
    {
        long batch = zone.PresentPages / 1024;
        if (batch * MemoryLayout.PAGE_SIZE > 512 * 1024)
        {
            batch = 512 * 1024 / MemoryLayout.PAGE_SIZE;
        }
        batch /= 4;
        if (batch < 1)
        {
            batch = 1;
        }
        int v = (int)(batch + batch / 2);
        int fls = 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)v);
        return (1 << (fls - 1)) - 1;
    }

    /// <summary>setup_pageset: hot high 6*batch; cold high 2*batch with half the batch.</summary>
    private static void SetupPageset(PerCpuPageset p, int batch)
    {
        p.Hot.High = 6 * batch;
        p.Hot.Batch = Math.Max(1, batch);
        p.Cold.High = 2 * batch;
        p.Cold.Batch = Math.Max(1, batch / 2);
    }
}
