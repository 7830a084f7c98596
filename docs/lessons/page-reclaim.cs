#:project ../../lab/Kernel.Lab/Kernel.Lab.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Lesson: 2.6.20's page reclaim (mm/vmscan.c) choosing between a mapped working set and a
// stream through the page cache. On a 32 MB machine a "mapper" maps 8 MB of a disk and touches it
// once; a "streamer" then reads 64 MB of the same disk with read(2). Memory runs out, kswapd wakes
// and scans, and shrink_active_list decides with reclaim_mapped (mapped_ratio / 2 + distress +
// swappiness >= 100) whether mapped pages may go too. The lesson runs it for several values of
// /proc/sys/vm/swappiness and prints, for each, how much of the mapping is still mapped, what kswapd
// and direct reclaim scanned and stole, and how long the stream took.
// Run with: dotnet run docs/lessons/page-reclaim.cs [-- --out DIR]   (CI adds --short)
// The plot (page-reclaim.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: at low swappiness reclaim takes only the stream's cache pages (the mapping
// survives whole); at 100 every mapped page that was not touched again is unmapped and freed. In
// between, distress decides: the harder reclaim works (the lower its priority), the sooner mapped
// pages go. Try next: touch the mapping again while the stream runs (referenced pages are kept), or
// read /proc/vmstat and /proc/zoneinfo between runs.
using Kernel;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

bool quick = args.Contains("--short");
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
int[] swappinessValues = quick ? [0, 100] : [0, 20, 40, 60, 80, 100];
long streamBytes = quick ? 40L << 20 : 64L << 20;
const long mapBytes = 8L << 20;

Console.WriteLine($"32 MB machine; an 8 MB mapping touched once, then a {streamBytes >> 20} MB stream through the page cache");
Console.WriteLine("swappiness  mapped pages left  pgscan kswapd  pgscan direct  pgsteal  allocstall  stream ms");
var left = new List<double>();
foreach (int swappiness in swappinessValues)
{
    var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { MemoryBytes = 32 * MemoryLayout.MiB } });
    k.Machine.EnterHostContext();
    k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(96L << 20));
    k.Proc.Write("/proc/sys/vm/swappiness", swappiness.ToString());
    bool mapped = false, done = false;
    var mapper = k.Spawn("mapper", async self =>
    {
        int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
        long a = await self.Mmap(0, mapBytes, Prot.PROT_READ, MapFlags.MAP_SHARED, fd, 80L << 20);
        await self.Touch(a, mapBytes, write: false);
        mapped = true;
        while (!done)
        {
            await self.Nanosleep(10_000_000);
        }
        await self.Exit(0);
    });
    k.RunUntil(() => mapped, 10_000_000_000);
    long start = k.Now, end = 0;
    var streamer = k.Spawn("streamer", async self =>
    {
        long buf = await self.Mmap(0, 64 * 1024, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
        int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
        for (long off = 0; off < streamBytes; off += 64 * 1024)
        {
            await self.Read(fd, buf, 64 * 1024);
        }
        end = self.Now;
        await self.Exit(0);
    });
    k.RunUntilExit(streamer, 600_000_000_000);
    long mappedLeft = k.MmOf(mapper)!.FileRss;
    done = true;
    k.RunUntilExit(mapper, 10_000_000_000);
    var zones = k.Memory.Zones;
    Console.WriteLine($"{swappiness,10} {mappedLeft,18} {zones.Sum(z => z.PgScanKswapd),14} {zones.Sum(z => z.PgScanDirect),14} {zones.Sum(z => z.PgSteal),8} {k.Memory.Reclaim!.AllocStall,11} {(end - start) / 1e6,10:0.0}");
    left.Add(mappedLeft);
}

Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
plot.Add.Bars(left.Select((v, i) => new ScottPlot.Bar { Position = i, Value = v }).ToList());
plot.Axes.Bottom.SetTicks(swappinessValues.Select((_, i) => (double)i).ToArray(), swappinessValues.Select(v => v.ToString()).ToArray());
plot.Axes.Bottom.Label.Text = "/proc/sys/vm/swappiness";
plot.Axes.Left.Label.Text = "pages of the 8 MB mapping still mapped";
plot.Title("A mapped working set against a stream: what swappiness keeps");
plot.SavePng(Path.Combine(outDir, "page-reclaim.png"), 800, 500);
plot.SaveSvg(Path.Combine(outDir, "page-reclaim.svg"), 800, 500);
Console.WriteLine();
Console.WriteLine($"plot: {Path.Combine(outDir, "page-reclaim.png")} (and .svg)");
return 0;
