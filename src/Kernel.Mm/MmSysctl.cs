// The memory code's /proc files and /proc/sys/vm tunables, registered at boot (mm/vmstat.c,
// fs/proc/proc_misc.c, kernel/sysctl.c vm_table): meminfo, buddyinfo, zoneinfo, vmstat,
// slabinfo, /proc/PID/maps and statm, and min_free_kbytes, lowmem_reserve_ratio,
// max_map_count, overcommit_memory and overcommit_ratio with their 2.6.20 handlers.
using Kernel.Core;
using Kernel.Core.Proc;

namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    /// <summary>sysctl_lowmem_reserve_ratio: a zone keeps back 1/ratio of the higher zones' pages.</summary>
    public int[] LowmemReserveRatio { get; private set; } = [];

    /// <summary>The overcommit policy and vm_committed_space.</summary>
    public Memory.Overcommit Overcommit { get; }

    /// <summary>sysctl_max_map_count: areas per mm (DEFAULT_MAX_MAP_COUNT).</summary>
    public int MaxMapCount { get; set; } = Memory.MmStruct.DEFAULT_MAX_MAP_COUNT;

    private void RegisterProcFiles(ProcRegistry r)
    {
        r.Register("/proc/meminfo", FormatMeminfo);
        r.Register("/proc/buddyinfo", FormatBuddyinfo);
        r.Register("/proc/zoneinfo", FormatZoneinfo);
        r.Register("/proc/vmstat", FormatVmstat);
        r.Register("/proc/slabinfo", FormatSlabinfo);
        r.Register("/proc/swaps", () => Swap.FormatSwaps());
        // fs/proc/base.c oom_adjust_write: -17..15, else EINVAL; oom_score is badness() now.
        r.RegisterPerTask("oom_adj", t => string.Create(Ci, $"{t.OomKillAdj}\n"), (t, text) =>
        {
            if (!ProcRegistry.TryParseInts(text, out var v) || v.Length != 1 || v[0] < Vmscan.OomKiller.OOM_DISABLE || v[0] > Vmscan.OomKiller.OOM_ADJUST_MAX)
            {
                return Errno.EINVAL.Ret();
            }
            t.OomKillAdj = (int)v[0];
            return 0;
        });
        r.RegisterPerTask("oom_score", t => string.Create(Ci, $"{Oom.Badness(t)}\n"));
        r.RegisterPerTask("maps", t => Memory.MmStruct.Of(t) is { } mm ? Memory.ProcMaps.Maps(mm) : string.Empty);
        r.RegisterPerTask("statm", t => Memory.MmStruct.Of(t) is { } mm ? Memory.ProcMaps.Statm(mm) : "0 0 0 0 0 0 0\n");
        // min_free_kbytes_sysctl_handler: proc_dointvec, then setup_per_zone_pages_min.
        r.RegisterInt("/proc/sys/vm/min_free_kbytes", () => MinFreeKbytes, v =>
        {
            SetupPerZonePagesMin((int)v);
            return 0;
        }, min: 0);
        // lowmem_reserve_ratio_sysctl_handler: proc_dointvec_minmax, then setup_per_zone_lowmem_reserve.
        r.RegisterIntVector("/proc/sys/vm/lowmem_reserve_ratio", () => LowmemReserveRatio.Select(x => (long)x).ToArray(), v =>
        {
            LowmemReserveRatio = v.Select(x => (int)x).ToArray();
            SetupPerZoneLowmemReserve();
            return 0;
        }, min: 1);
        r.RegisterInt("/proc/sys/vm/max_map_count", () => MaxMapCount, v =>
        {
            MaxMapCount = (int)v;
            return 0;
        });
        r.RegisterInt("/proc/sys/vm/overcommit_memory", () => Overcommit.Mode, v =>
        {
            Overcommit.Mode = (int)v;
            return 0;
        });
        r.RegisterInt("/proc/sys/vm/overcommit_ratio", () => Overcommit.Ratio, v =>
        {
            Overcommit.Ratio = (int)v;
            return 0;
        });
        // mm/page-writeback.c's tunables (kernel/sysctl.c: the ratios 0..100; the intervals in centiseconds, >= 0).
        var wb = Writeback;
        r.RegisterInt("/proc/sys/vm/dirty_background_ratio", () => wb.DirtyBackgroundRatio, v =>
        {
            wb.DirtyBackgroundRatio = (int)v;
            return 0;
        }, min: 0, max: 100);
        r.RegisterInt("/proc/sys/vm/dirty_ratio", () => wb.DirtyRatio, v =>
        {
            wb.DirtyRatio = (int)v;
            return 0;
        }, min: 0, max: 100);
        r.RegisterInt("/proc/sys/vm/dirty_writeback_centisecs", () => wb.DirtyWritebackCentisecs, v =>
        {
            wb.DirtyWritebackCentisecs = (int)v;
            return 0;
        }, min: 0);
        r.RegisterInt("/proc/sys/vm/dirty_expire_centisecs", () => wb.DirtyExpireCentisecs, v =>
        {
            wb.DirtyExpireCentisecs = (int)v;
            return 0;
        }, min: 0);
        r.Register("/proc/sys/vm/nr_pdflush_threads", () => $"{wb.NrPdflushThreads}\n");
        // page_cluster: proc_dointvec in 2.6.20 (unbounded); a negative or huge value would break the shift, so 0..30 here.
        r.RegisterInt("/proc/sys/vm/page-cluster", () => Swap.PageCluster, v =>
        {
            Swap.PageCluster = (int)v;
            return 0;
        }, min: 0, max: 30);
        if (Reclaim is { } reclaim)
        {
            r.Register("/proc/refaults", () => reclaim.Nonresident.FormatRefaults());
            // The emulator's switch between the replacement designs (no 2.6.20 file).
            r.Register("/proc/sys/vm/page_replacement", () => Vmscan.PageReclaim.PolicyNames[(int)reclaim.Policy] + "\n", text =>
            {
                if (!Vmscan.PageReclaim.TryParsePolicy(text, out var policy))
                {
                    return Kernel.Core.Errno.EINVAL.Ret();
                }
                reclaim.Policy = policy;
                return 0;
            });
            // The emulator's clean-first switch (Andrea's fix from the LWN seed; no 2.6.20 file).
            r.RegisterInt("/proc/sys/vm/prefer_clean_cache", () => reclaim.PreferCleanCache ? 1 : 0, v =>
            {
                reclaim.PreferCleanCache = v != 0;
                return 0;
            }, min: 0, max: 1);
            // vm_swappiness: proc_dointvec_minmax over 0..100.
            r.RegisterInt("/proc/sys/vm/swappiness", () => reclaim.Swappiness, v =>
            {
                reclaim.Swappiness = (int)v;
                return 0;
            }, min: 0, max: 100);
        }
    }
}
