// /proc/buddyinfo, /proc/zoneinfo, /proc/meminfo and the /proc/vmstat counters that exist so far,
// in 2.6.20's formats (mm/vmstat.c frag_show/zoneinfo_show, fs/proc/proc_misc.c).
using System.Globalization;
using System.Text;

namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>The 2.6.20 per-zone vm_stat items (all zero until the subsystems that count them exist).</summary>
    private static readonly string[] VmStatText =
    [
        "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_slab_reclaimable", "nr_slab_unreclaimable",
        "nr_page_table_pages", "nr_dirty", "nr_writeback", "nr_unstable", "nr_bounce", "nr_vmscan_write",
    ];

    /// <summary>vm events: page faults taken, and the major ones (none until swap and files).</summary>
    public long PgFault { get; internal set; }

    public long PgMajFault { get; internal set; }

    /// <summary>vm events PGPGIN and PGPGOUT: sectors submitted for read and write (the block layer counts them in submit_bio).</summary>
    public long PgpgIn { get; internal set; }

    public long PgpgOut { get; internal set; }

    /// <summary>NR_ANON_PAGES: anonymous pages mapped by at least one PTE.</summary>
    public long NrAnonPages { get; internal set; }

    /// <summary>NR_FILE_MAPPED: page cache pages mapped by at least one PTE.</summary>
    public long NrFileMapped { get; internal set; }

    /// <summary>NR_FILE_DIRTY and NR_WRITEBACK (Writeback's counters, kept at each transition).</summary>
    public (long Dirty, long Writeback) DirtyAndWriteback() => (Writeback.NrFileDirty, Writeback.NrWriteback);

    /// <summary>NR_BOUNCE: pages held as bounce buffers now.</summary>
    public long NrBounce { get; internal set; }

    public string FormatBuddyinfo()
    {
        var sb = new StringBuilder();
        foreach (var z in Zones.Where(z => z.PresentPages > 0))
        {
            sb.Append(Ci, $"Node 0, zone {z.Name,8} ");
            foreach (var a in z.FreeArea)
            {
                sb.Append(Ci, $"{a.NrFree,6} ");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public string FormatZoneinfo()
    {
        var sb = new StringBuilder();
        foreach (var z in Zones.Where(z => z.PresentPages > 0))
        {
            sb.Append(Ci, $"Node 0, zone {z.Name,8}");
            sb.Append(Ci, $"\n  pages free     {z.FreePages}\n        min      {z.PagesMin}\n        low      {z.PagesLow}\n        high     {z.PagesHigh}");
            sb.Append(Ci, $"\n        active   {z.NrActive}\n        inactive {z.NrInactive + z.NrInactiveClean}\n        scanned  {z.PagesScanned} (a: {z.NrScanActive} i: {z.NrScanInactive})\n        spanned  {z.SpannedPages}\n        present  {z.PresentPages}");
            foreach (var name in VmStatText)
            {
                sb.Append(Ci, $"\n    {name,-12} 0");
            }
            sb.Append(Ci, $"\n        protection: ({string.Join(", ", z.LowmemReserve)})");
            sb.Append("\n  pagesets");
            for (int cpu = 0; cpu < z.Pageset.Length; cpu++)
            {
                var ps = z.Pageset[cpu];
                if (ps.Hot.Count == 0 && ps.Cold.Count == 0)
                {
                    continue;
                }
                for (int j = 0; j < 2; j++)
                {
                    var pcp = ps[j == 1];
                    sb.Append(Ci, $"\n    cpu: {cpu} pcp: {j}\n              count: {pcp.Count}\n              high:  {pcp.High}\n              batch: {pcp.Batch}");
                }
                sb.Append(Ci, $"\n  vm stats threshold: {StatThreshold(z)}");
            }
            sb.Append(Ci, $"\n  all_unreclaimable: {(z.AllUnreclaimable ? 1 : 0)}\n  prev_priority:     {z.PrevPriority}\n  start_pfn:         {z.ZoneStartPfn}\n");
        }
        return sb.ToString();
    }

    /// <summary>calculate_threshold (mm/vmstat.c 2.6.20).</summary>
    private int StatThreshold(Zone z)
    {
        static int Fls(long x) => x == 0 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)x);
        long mem = z.PresentPages >> (27 - MemoryLayout.PAGE_SHIFT);
        int threshold = 2 * Fls(Machine.Cpus.Length) * (1 + Fls(mem));
        return Math.Min(125, threshold);
    }

    /// <summary>/proc/meminfo with the fields that exist so far; the rest read 0 until their subsystems do.</summary>
    public string FormatMeminfo()
    {
        long K(long pages) => pages * (MemoryLayout.PAGE_SIZE >> 10);
        long free = Zones.Sum(z => z.FreePagesIncludingPcp);
        long highTotal = TotalHighPages;
        long highFree = Zones.Where(z => z.IsHighmem).Sum(z => z.FreePagesIncludingPcp);
        long vmallocTotal = Arch == Architecture.I386Pae ? 118776 : 34359738367;
        var sb = new StringBuilder();
        void L(string name, long kb) => sb.Append(Ci, $"{name + ":",-14}{kb,8} kB\n");
        L("MemTotal", K(TotalRamPages));
        L("MemFree", K(free));
        L("Buffers", 0);
        L("Cached", K(NrFilePages - Swap.TotalSwapcachePages));
        L("SwapCached", K(Swap.TotalSwapcachePages));
        L("Active", K(Zones.Sum(z => z.NrActive)));
        L("Inactive", K(Zones.Sum(z => z.NrInactive + z.NrInactiveClean)));
        if (Arch == Architecture.I386Pae)
        {
            L("HighTotal", K(highTotal));
            L("HighFree", K(highFree));
            L("LowTotal", K(TotalRamPages - highTotal));
            L("LowFree", K(free - highFree));
        }
        L("SwapTotal", K(Swap.TotalSwapPages));
        L("SwapFree", K(Swap.NrSwapPages));
        var (dirty, writeback) = DirtyAndWriteback();
        L("Dirty", K(dirty));
        L("Writeback", K(writeback));
        L("AnonPages", K(NrAnonPages));
        L("Mapped", K(NrFileMapped));
        long reclaimable = Caches.Where(c => (c.Flags & Slab.SlabFlags.SLAB_RECLAIM_ACCOUNT) != 0).Sum(c => c.Pages);
        L("Slab", K(SlabPages));
        L("SReclaimable", K(reclaimable));
        L("SUnreclaim", K(SlabPages - reclaimable));
        L("PageTables", K(PageTablePages));
        L("NFS_Unstable", 0);
        L("Bounce", K(NrBounce));
        L("CommitLimit", K(Overcommit.CommitLimitPages));
        L("Committed_AS", K(Overcommit.CommittedPages));
        L("VmallocTotal", vmallocTotal);
        L("VmallocUsed", 0);
        L("VmallocChunk", vmallocTotal);
        return sb.ToString();
    }

    /// <summary>/proc/vmstat in 2.6.20's order (mm/vmstat.c vmstat_text); the swap and slab-shrinking counters read 0 until those exist.</summary>
    public string FormatVmstat()
    {
        var sb = new StringBuilder();
        var (dirty, writeback) = DirtyAndWriteback();
        foreach (var name in VmStatText)
        {
            long v = name switch
            {
                "nr_dirty" => dirty,
                "nr_writeback" => writeback,
                "nr_anon_pages" => NrAnonPages,
                "nr_mapped" => NrFileMapped,
                "nr_file_pages" => NrFilePages,
                "nr_page_table_pages" => PageTablePages,
                "nr_bounce" => NrBounce,
                "nr_vmscan_write" => Reclaim?.VmscanWrite ?? 0,
                _ => 0,
            };
            sb.Append(Ci, $"{name} {v}\n");
        }
        // vmstat_start: "sectors -> kbytes".
        sb.Append(Ci, $"pgpgin {PgpgIn / 2}\npgpgout {PgpgOut / 2}\npswpin {Swap.PswpIn}\npswpout {Swap.PswpOut}\n");
        void PerZone(string prefix, Func<Zone, long> f)
        {
            foreach (var z in Zones)
            {
                // TEXTS_FOR_ZONES: _dma, _dma32, _normal, _high.
                string suffix = z.Type switch
                {
                    ZoneType.ZONE_DMA => "dma",
                    ZoneType.ZONE_DMA32 => "dma32",
                    ZoneType.ZONE_NORMAL => "normal",
                    _ => "high",
                };
                sb.Append(Ci, $"{prefix}_{suffix} {f(z)}\n");
            }
        }
        PerZone("pgalloc", z => z.PgAlloc);
        sb.Append(Ci, $"pgfree {Zones.Sum(z => z.PgFree)}\npgactivate {PgActivate}\npgdeactivate {PgDeactivate}\n");
        sb.Append(Ci, $"pgfault {PgFault}\npgmajfault {PgMajFault}\n");
        PerZone("pgrefill", z => z.PgRefill);
        PerZone("pgsteal", z => z.PgSteal);
        PerZone("pgscan_kswapd", z => z.PgScanKswapd);
        PerZone("pgscan_direct", z => z.PgScanDirect);
        var r = Reclaim;
        sb.Append(Ci, $"pginodesteal 0\nslabs_scanned {r?.SlabsScanned ?? 0}\nkswapd_steal {r?.KswapdSteal ?? 0}\nkswapd_inodesteal 0\n");
        sb.Append(Ci, $"pageoutrun {r?.PageoutRun ?? 0}\nallocstall {r?.AllocStall ?? 0}\npgrotated {PgRotated}\n");
        return sb.ToString();
    }
}
