#:project ../../lab/Kernel.Lab/Kernel.Lab.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Experiment: the LWN seed "Time to thrash the 2.6 VM?" at small scale. A database's shared memory
// (a tmpfs file, dirty, most of the machine) is mapped by many processes, each touching every page,
// that then keep reading a hot half of it; meanwhile a large file is copied from one disk to
// another. For each reverse-map mode (2.6.20's objrmap, 2.5's pte_chain, none: find a page's
// mappers by scanning every page table) and with Andrea's clean-first switch off and on: how long
// the copy takes (simulated), how many shared-memory pages reclaim swapped out, how many major
// faults the database took, the reverse-map work (PTEs examined by page_referenced/try_to_unmap),
// and the memory the page tables and pte_chains take.
// Run with: dotnet run docs/lessons/shared-mapping-thrash.cs [-- --out DIR]   (CI adds --short)
// The plot (shared-mapping-thrash.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: with no reverse map every look at a shared page scans every process's page
// tables, so reclaim's cost grows with processes times pages (the seed's first problem; 2.4's
// virtual scan had the same cost in another form), which is why the "none" rows run only with
// the smaller count. pte_chain needs memory for every mapping of every page (the seed's second
// complaint: with enough processes the rmap structures crowd out what they index). Clean-first
// keeps the database's pages in and its faults down, at the cost of the copy, which now waits
// for its own pages (the "certain amount of unfairness"). Try next: swappiness 100 or 0, more
// processes, a rotational disk, or the 2.4 designs (/proc/sys/vm/page_replacement).
using Kernel;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Mm.Swap;

const long Page = 4096, MiB = 1 << 20;
bool quick = args.Contains("--short");
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
long ram = (quick ? 16 : 32) * MiB, shmPages = ram * 11 / 16 / Page, copyBytes = ram * 3 / 2;
int few = quick ? 4 : 20, many = quick ? 16 : 100;
string Name(RmapMode m) => m switch { RmapMode.ObjRmap => "objrmap", RmapMode.PteChain => "pte_chain", _ => "none" };

(double CopyMs, long SwappedOut, long DbMajor, long RmapPtes, long PageTablesKb, long ChainKb, long Bad, long OomKills) Run(RmapMode mode, int procs, bool cleanFirst)
{
    var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000, PidMax = 4096, Memory = new MemoryOptions { MemoryBytes = ram, Rmap = mode } });
    k.Proc.Write("/proc/sys/vm/overcommit_memory", "1");
    k.Proc.Write("/proc/sys/vm/prefer_clean_cache", cleanFirst ? "1" : "0");
    var swap = new MemoryBlockStore(2 * ram);
    swap.Write(0, SwapHeader.Make(2 * ram / Page));
    k.Block.AttachDisk("sdb", new SsdDisk(), swap);
    k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(copyBytes));
    k.Block.AttachDisk("sdc", new SsdDisk(), new MemoryBlockStore(copyBytes));
    int ready = 0;
    bool copied = false;
    long bad = 0, dbMajor = 0;
    var db = k.Spawn("db", async self =>
    {
        await self.Swapon("/dev/sdb");
        int fd = (int)await self.Open("/db", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
        await self.Ftruncate(fd, shmPages * Page);
        long a = await self.Mmap(0, shmPages * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_SHARED, fd);
        for (long p = 0; p < shmPages; p++)
        {
            await self.Store(a + p * Page, p * 5 + 1); // the shared memory is dirty
        }
        for (int i = 0; i < procs; i++)
        {
            int me = i;
            await self.Fork(async c =>
            {
                for (long p = 0; p < shmPages; p++)
                {
                    await c.Load<long>(a + p * Page);
                }
                ready++;
                var rng = new Random(me);
                long maj0 = c.TaskStruct.MajFlt;
                while (!copied)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        long p = rng.NextInt64(shmPages / 2);
                        bad += await c.Load<long>(a + p * Page) == p * 5 + 1 ? 0 : 1;
                    }
                    await c.Nanosleep(20_000_000);
                }
                dbMajor += c.TaskStruct.MajFlt - maj0;
                await c.Exit(0);
            });
        }
        while (!copied)
        {
            await self.Nanosleep(50_000_000);
        }
        await self.Exit(0);
    });
    bool started = k.RunUntil(() => ready == procs || k.Memory.Oom.Kills > 0, 120_000_000_000);
    if (!started || k.Memory.Oom.Kills > 0)
    {
        // The page tables (and pte_chains) of this many mappers did not fit: the OOM killer ran,
        // or two simulated minutes of thrashing did not get them all started. Reported as such;
        // the copy is not run.
        long kills = k.Memory.Oom.Kills;
        copied = true;
        return (double.NaN, 0, 0, 0, 0, 0, bad, started ? kills : -1);
    }
    string meminfo = k.Proc.Read("/proc/meminfo")!;
    long pageTablesKb = long.Parse(meminfo.Split('\n').First(l => l.StartsWith("PageTables:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    long chainKb = k.Memory.Rmap.PteChainCachep.Pages * Page / 1024;
    long out0 = k.Memory.Swap.PswpOut, walk0 = k.Memory.Rmap.WalkPtesVisited, t0 = k.Machine.Now;
    var cp = k.Spawn("cp", async self =>
    {
        long buf = await self.Mmap(0, 64 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
        int src = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
        int dst = (int)await self.Open("/dev/sdc", OpenFlags.O_WRONLY);
        for (long off = 0; off < copyBytes; off += 64 * Page)
        {
            await self.Read(src, buf, 64 * Page);
            await self.Write(dst, buf, 64 * Page);
        }
        await self.Fsync(dst);
        await self.Exit(0);
    });
    if (!k.RunUntilExit(cp, 3_600_000_000_000))
    {
        throw new InvalidOperationException("the copy did not finish");
    }
    double copyMs = (k.Machine.Now - t0) / 1e6;
    long swappedOut = k.Memory.Swap.PswpOut - out0, rmapPtes = k.Memory.Rmap.WalkPtesVisited - walk0;
    copied = true;
    k.RunUntilExit(db, 600_000_000_000);
    k.RunUntil(() => false, 500_000_000); // the children exit
    k.AssertInvariants();
    return (copyMs, swappedOut, dbMajor, rmapPtes, pageTablesKb, chainKb, bad, k.Memory.Oom.Kills);
}

Console.WriteLine($"{ram / MiB} MB machine, {shmPages * Page / MiB} MB of dirty shared memory, a {copyBytes / MiB} MB copy between two SSDs");
Console.WriteLine("rmap       procs  clean-first  copy (ms)  shm swapped out  db major faults  rmap PTEs examined  page tables (kB)  pte_chain (kB)  wrong");
var rows = new List<(string Label, double CopyMs, long SwappedOut)>();
foreach (var (mode, procs) in new[] { (RmapMode.ObjRmap, few), (RmapMode.PteChain, few), (RmapMode.None, few), (RmapMode.ObjRmap, many), (RmapMode.PteChain, many) })
{
    foreach (bool cf in new[] { false, true })
    {
        var host = System.Diagnostics.Stopwatch.StartNew();
        var r = Run(mode, procs, cf);
        if (double.IsNaN(r.CopyMs))
        {
            string why = r.OomKills < 0 ? "not all started after 120 s of thrashing" : $"{r.OomKills} OOM kill(s) before the copy";
            Console.WriteLine($"{Name(mode),-10} {procs,5} {(cf ? "on" : "off"),12}  the mappers did not fit: {why}  (host {host.Elapsed.TotalSeconds:F1} s)");
            continue;
        }
        Console.WriteLine($"{Name(mode),-10} {procs,5} {(cf ? "on" : "off"),12} {r.CopyMs,10:F0} {r.SwappedOut,16} {r.DbMajor,16} {r.RmapPtes,19} {r.PageTablesKb,17} {r.ChainKb,15} {r.Bad,6}  (host {host.Elapsed.TotalSeconds:F1} s)");
        rows.Add(($"{Name(mode)} {procs}{(cf ? " cf" : "")}", r.CopyMs, r.SwappedOut));
    }
}

Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
var palette = new ScottPlot.Palettes.Category10();
var bars = new List<ScottPlot.Bar>();
for (int i = 0; i < rows.Count; i++)
{
    bars.Add(new ScottPlot.Bar { Position = i, Value = rows[i].SwappedOut, FillColor = palette.GetColor(rows[i].Label.EndsWith("cf", StringComparison.Ordinal) ? 1 : 0) });
}
plot.Add.Bars(bars);
plot.Axes.Bottom.SetTicks(Enumerable.Range(0, rows.Count).Select(i => (double)i).ToArray(), rows.Select(r => r.Label).ToArray());
plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "2.6.20", FillColor = palette.GetColor(0) });
plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "clean-first", FillColor = palette.GetColor(1) });
plot.ShowLegend();
plot.Title("shared-memory pages swapped out during the copy");
plot.YLabel("pages");
plot.SavePng(Path.Combine(outDir, "shared-mapping-thrash.png"), 900, 500);
plot.SaveSvg(Path.Combine(outDir, "shared-mapping-thrash.svg"), 900, 500);
Console.WriteLine($"plot: {Path.Combine(outDir, "shared-mapping-thrash.svg")}");
