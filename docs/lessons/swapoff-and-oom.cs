#:project ../../lab/Kernel.Lab/Kernel.Lab.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Experiment: the Pillow Talk seed's test. A program allocates and touches about as much memory as
// the machine has, frees it and exits; then swap is turned off. On 2.4 kernels up to 2.4.9 the
// machine could go unresponsive for up to 15 minutes at this point. Here, on one emulated kernel:
//  1. Three daemons each hold an eighth of memory; the eater touches seven eighths, pushing them
//     out to swap, frees it and exits; then swapoff. For each reclaim design (2.6.20's LRU,
//     CLOCK-Pro, 2.4.0 aging, 2.4.10): what was left in swap, how long swapoff took (simulated),
//     how many pages it read back, how late a task that wakes every 10 ms was during it, and
//     whether every daemon byte came back.
//  2. A swapoff that cannot fit: the daemons hold 1.25 times memory. try_to_unuse must end in
//     -ENOMEM or the OOM killer (which chooses the task in swapoff first), never a livelock; the
//     area goes back into use and no byte is lost.
//  3. No swap, and an eater that wants 1.5 times memory: the OOM killer picks the biggest offender,
//     never init or a kernel thread, and prints what Linux prints.
// Run with: dotnet run docs/lessons/swapoff-and-oom.cs [-- --out DIR]   (CI adds --short)
// The plot (swapoff.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: swapoff here is 2.6.20's try_to_unuse under every design (only the reclaim
// choices change), so the 2.4-era hang does not come back: it came from 2.4's own swapoff and
// reclaim loops. The designs differ in what they swapped out and what they read back early. Try
// next: more daemons (try_to_unuse walks every mm for each entry, so its cost grows with the
// number of processes), a rotational swap disk (RotationalDisk), or /proc/sys/vm/swappiness 100.
using Kernel;
using Kernel.Block.Drivers;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Mm.Swap;

const long Page = 4096, MiB = 1 << 20;
bool quick = args.Contains("--short");
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
long ram = (quick ? 32 : 64) * MiB;
string[] designs = ["lru", "clockpro", "2.4.0", "2.4.10"];
const int Rw = Prot.PROT_READ | Prot.PROT_WRITE, Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

LinuxKernel Boot(string design, long swapBytes)
{
    var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { MemoryBytes = ram } });
    k.Proc.Write("/proc/sys/vm/page_replacement", design);
    k.Proc.Write("/proc/sys/vm/overcommit_memory", "1");
    if (swapBytes > 0)
    {
        var store = new MemoryBlockStore(swapBytes);
        store.Write(0, SwapHeader.Make(swapBytes / Page));
        k.Block.AttachDisk("sdb", new SsdDisk(), store);
        var on = k.Spawn("swapon", async self => await self.Exit(await self.Swapon("/dev/sdb") == 0 ? 0 : 1));
        if (!k.RunUntilExit(on, 10_000_000_000) || on.ExitCode != 0)
        {
            throw new InvalidOperationException("swapon failed");
        }
    }
    return k;
}

// Daemons that fill `bytes` each with a pattern, wait for `check`, then count wrong pages.
var bad = new long[1];
List<TaskStruct> Daemons(LinuxKernel k, int n, long bytes, Func<bool> check)
{
    var list = new List<TaskStruct>();
    for (int d = 0; d < n; d++)
    {
        int seed = d;
        list.Add(k.Spawn($"daemon{d}", async self =>
        {
            long a = await self.Mmap(0, bytes, Rw, Anon);
            for (long off = 0; off < bytes; off += Page)
            {
                await self.Store(a + off, off * 3 + seed);
            }
            while (!check())
            {
                await self.Nanosleep(50_000_000);
            }
            for (long off = 0; off < bytes; off += Page)
            {
                bad[0] += await self.Load<long>(a + off) == off * 3 + seed ? 0 : 1;
            }
            await self.Exit(0);
        }));
    }
    return list;
}

long Kb(LinuxKernel k, string key) => long.Parse(k.Proc.Read("/proc/meminfo")!.Split('\n')
    .First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

// 1. The seed's program, then swapoff.
Console.WriteLine($"1. {ram / MiB} MB of memory, 3 daemons of {ram / 8 / MiB} MB, an eater of {ram * 7 / 8 / MiB} MB that frees and exits, then swapoff");
Console.WriteLine("design    in swap  swap cache  swapoff (ms)  pages read  worst lateness of a 10 ms sleeper (ms)  daemon pages wrong");
var offMs = new List<double>();
var lateMs = new List<double>();
foreach (var design in designs)
{
    var k = Boot(design, 2 * ram);
    bool check = false, stop = false;
    long worst = 0;
    bad[0] = 0;
    var daemons = Daemons(k, 3, ram / 8, () => check);
    var sleeper = k.Spawn("sleeper", async self =>
    {
        while (!stop)
        {
            long t0 = self.Now;
            await self.Nanosleep(10_000_000);
            worst = Math.Max(worst, self.Now - t0 - 10_000_000);
        }
        await self.Exit(0);
    });
    k.RunUntil(() => false, 500_000_000);
    long eat = ram * 7 / 8;
    var eater = k.Spawn("eater", async self =>
    {
        long a = await self.Mmap(0, eat, Rw, Anon); // calloc(...)
        for (long off = 0; off < eat; off += Page)
        {
            await self.Store(a + off, off);
        }
        await self.Nanosleep(1_000_000_000); // let the system calm down
        await self.Munmap(a, eat); // and release it all again
        await self.Exit(0);
    });
    if (!k.RunUntilExit(eater, 600_000_000_000))
    {
        throw new InvalidOperationException($"{design}: the eater did not finish");
    }
    long inSwap = (Kb(k, "SwapTotal") - Kb(k, "SwapFree")) / 4, cached = Kb(k, "SwapCached") / 4;
    long readBefore = k.Memory.Swap.PswpIn, result = 1;
    worst = 0;
    var swapoff = k.Spawn("swapoff", async self => { result = await self.Swapoff("/dev/sdb"); await self.Exit(0); });
    long t = k.Machine.Now;
    if (!k.RunUntilExit(swapoff, 600_000_000_000) || result != 0)
    {
        throw new InvalidOperationException($"{design}: swapoff did not finish ({result})");
    }
    double ms = (k.Machine.Now - t) / 1e6, late = worst / 1e6;
    long read = k.Memory.Swap.PswpIn - readBefore;
    check = true;
    foreach (var d in daemons)
    {
        k.RunUntilExit(d, 60_000_000_000);
    }
    stop = true;
    k.RunUntilExit(sleeper, 1_000_000_000);
    k.AssertInvariants();
    Console.WriteLine($"{design,-9} {inSwap,7} {cached,11} {ms,13:F1} {read,11} {late,40:F2} {bad[0],19}");
    offMs.Add(ms);
    lateMs.Add(late);
}
Console.WriteLine();

// 2. A swapoff that cannot fit.
Console.WriteLine($"2. 4 daemons of {ram * 5 / 16 / MiB} MB (1.25 times memory), then swapoff");
Console.WriteLine("design    swapoff returns  simulated (ms)  area still on  OOM kills  daemon pages wrong");
foreach (var design in designs)
{
    var k = Boot(design, 2 * ram);
    bool check = false;
    bad[0] = 0;
    var daemons = Daemons(k, 4, ram * 5 / 16, () => check);
    k.RunUntil(() => false, 3_000_000_000);
    long result = 1;
    var swapoff = k.Spawn("swapoff", async self => { result = await self.Swapoff("/dev/sdb"); await self.Exit(0); });
    long t = k.Machine.Now;
    bool done = k.RunUntilExit(swapoff, 600_000_000_000);
    double ms = (k.Machine.Now - t) / 1e6;
    string how = !done ? "did not end" : swapoff.ExitCode == 9 ? "killed (SIGKILL)" : result == 0 ? "0" : $"{result}";
    check = true;
    foreach (var d in daemons)
    {
        k.RunUntilExit(d, 120_000_000_000);
    }
    k.AssertInvariants();
    Console.WriteLine($"{design,-9} {how,15} {ms,15:F1} {(k.Memory.Swap.Areas.Count > 0 ? "yes" : "no"),14} {k.Memory.Oom.Kills,10} {bad[0],19}");
}
Console.WriteLine();

// 3. The OOM killer without swap.
Console.WriteLine($"3. No swap: 3 daemons of {ram / 8 / MiB} MB and an eater that wants {ram * 3 / 2 / MiB} MB");
{
    var k = Boot("lru", 0);
    bool check = false;
    bad[0] = 0;
    var daemons = Daemons(k, 3, ram / 8, () => check);
    k.RunUntil(() => false, 500_000_000);
    long eat = ram * 3 / 2;
    var eater = k.Spawn("eater", async self =>
    {
        long a = await self.Mmap(0, eat, Rw, Anon);
        for (long off = 0; off < eat; off += Page)
        {
            await self.Store(a + off, off);
        }
        await self.Exit(0);
    });
    k.RunUntilExit(eater, 600_000_000_000);
    check = true;
    foreach (var d in daemons)
    {
        k.RunUntilExit(d, 60_000_000_000);
    }
    foreach (var line in k.Memory.Oom.Log.Where(l => l.Contains("kill", StringComparison.OrdinalIgnoreCase)))
    {
        Console.WriteLine($"   {line}");
    }
    Console.WriteLine($"   eater ended with signal {eater.ExitCode & 0x7f}; daemons exited {string.Join(", ", daemons.Select(d => d.ExitCode))}; init alive: {k.Init.ExitState == 0}; daemon pages wrong: {bad[0]}");
    k.AssertInvariants();
}

// The plot: swapoff time and the sleeper's worst lateness per design.
Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
var palette = new ScottPlot.Palettes.Category10();
var bars = new List<ScottPlot.Bar>();
for (int i = 0; i < designs.Length; i++)
{
    bars.Add(new ScottPlot.Bar { Position = i * 3, Value = offMs[i], FillColor = palette.GetColor(0) });
    bars.Add(new ScottPlot.Bar { Position = i * 3 + 1, Value = lateMs[i], FillColor = palette.GetColor(1) });
}
plot.Add.Bars(bars);
plot.Axes.Bottom.SetTicks(designs.Select((_, i) => i * 3 + 0.5).ToArray(), designs);
plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "swapoff (ms)", FillColor = palette.GetColor(0) });
plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "worst lateness of a 10 ms sleeper (ms)", FillColor = palette.GetColor(1) });
plot.ShowLegend();
plot.Title($"swapoff after the seed's program, {ram / MiB} MB machine");
plot.YLabel("simulated milliseconds");
plot.SavePng(Path.Combine(outDir, "swapoff.png"), 800, 450);
plot.SaveSvg(Path.Combine(outDir, "swapoff.svg"), 800, 450);
Console.WriteLine($"plot: {Path.Combine(outDir, "swapoff.svg")}");
