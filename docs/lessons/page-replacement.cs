#:project ../../lab/Kernel.Lab/Kernel.Lab.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Experiment: the page-replacement designs the seeds compare, on one emulated kernel, through the
// whole VM (every reference is a load through the page tables; a miss is a fault that reads the
// page back through the page cache, with reclaim choosing what to evict).
//  1. A working set and a stream (the LWN CLOCK-Pro seed ran a kernel make beside a large grep):
//     300 hot pages reread between the pages of a one-time scan, in 250 page frames. The hit ratio
//     of the working set, major faults, and the /proc/refaults histogram under CLOCK-Pro.
//  2. The published LIRS/CLOCK-Pro traces (../shared/traces) at two memory sizes each: hits of
//     2.6.20's LRU, CLOCK-Pro (van Riel's patch), 2.4.0 aging and 2.4.10, beside pure LRU and
//     the LIRS and CLOCK-Pro algorithms as published (pure models) and Belady's OPT (the physical limit).
// Run with: dotnet run docs/lessons/page-replacement.cs [-- --out DIR]   (CI adds --short)
// The plot (page-replacement.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: no design comes near OPT on the loop-like traces (cs, gli): a loop bigger than
// memory defeats recency. CLOCK-Pro's refault test keeps some of the reused pages; the refaults
// histogram shows what the seed showed, a few near refaults and a mass of New/Beyond from the
// stream. The 2.4 designs keep a mapped page until their page-table scan reaches it, which favours
// pages that stay mapped. Try next: change the frames, set /proc/sys/vm/page-cluster back to 3
// (swap readahead) in an anonymous replay (TraceReplayOptions.Anonymous), or compare the
// kernel's numbers with a pure model (CacheModels) to see what the approximations cost.
using Kernel.Mm.Vmscan;
using Kernel.Workloads;

bool quick = args.Contains("--short");
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
string tracesDir = FindTraces();
string[] policies = ["lru", "clockpro", "2.4.0", "2.4.10"];

TraceReplayResult Replay(PageTrace trace, int frames, string policy, Action<Kernel.LinuxKernel>? inspect = null) =>
    TraceReplay.Run(trace, new TraceReplayOptions
    {
        Frames = frames,
        Configure = k => k.Proc.Write("/proc/sys/vm/page_replacement", policy),
        Inspect = inspect,
    });

// 1. Working set and stream.
int scan = quick ? 1500 : 6000;
var hot = PageTrace.HotAndScan(300, scan, 2);
long hotRefs = hot.References.Count * 2 / 3;
Console.WriteLine($"1. 300 hot pages reread twice between the pages of a {scan}-page one-time scan, 250 frames");
Console.WriteLine("design      working-set hits  hit ratio  major faults  pages scanned");
string refaults = "";
foreach (var p in policies)
{
    var r = Replay(hot, 250, p, k => { if (p == "clockpro") refaults = k.Proc.Read("/proc/refaults")!; });
    Console.WriteLine($"{p,-10} {r.Hits,17} {(double)r.Hits / hotRefs,10:P1} {r.MajorFaults,13} {r.PagesScanned,14}");
}
var dense = hot.Dense().References;
Console.WriteLine($"{"pure LRU",-10} {CacheModels.LruHits(dense, 250),17}   {"OPT",-8} {CacheModels.OptHits(dense, 250)}");
Console.WriteLine("/proc/refaults under CLOCK-Pro:");
Console.Write(refaults);
Console.WriteLine();

// 2. The published traces.
(string Name, int[] Frames)[] traces = quick
    ? [("cs", [500]), ("cpp", [300])]
    : [("cs", [300, 700]), ("cpp", [200, 600]), ("gli", [500, 1500]), ("ps", [500, 1500]), ("multi2", [1000, 3000]), ("2_pools", [100, 500]), ("sprite", [200, 1000])];
Console.WriteLine("2. Published traces: hit ratio (hits / references, cold misses included)");
Console.WriteLine($"{"trace",-8} {"frames",6} {"refs",8} {"pure LRU",9} {"LIRS",7} {"CLK-Pro",7} {"OPT",7} " + string.Join(" ", policies.Select(p => $"{p,9}")));
var rows = new List<(string Label, double[] Ratios)>();
foreach (var (name, framesList) in traces)
{
    var trace = PageTrace.Load(Path.Combine(tracesDir, name + ".trace.gz"));
    var refs = trace.Dense().References;
    foreach (int frames in framesList)
    {
        double n = refs.Count;
        double lru = CacheModels.LruHits(refs, frames) / n, opt = CacheModels.OptHits(refs, frames) / n;
        // The published algorithms as pure models: LIRS, and CLOCK-Pro, which van Riel's patch approximates.
        double lirs = LirsModel.Hits(refs, frames) / n, clockPro = ClockProModel.Hits(refs, frames) / n;
        var ratios = policies.Select(p => Replay(trace, frames, p).HitRatio).ToArray();
        Console.WriteLine($"{name,-8} {frames,6} {refs.Count,8} {lru,9:P1} {lirs,7:P1} {clockPro,7:P1} {opt,7:P1} " + string.Join(" ", ratios.Select(x => $"{x,9:P1}")));
        rows.Add(($"{name}@{frames}", [lru, .. ratios, opt]));
    }
}

Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
string[] series = ["pure LRU", .. policies, "OPT"];
var palette = new ScottPlot.Palettes.Category10();
var bars = new List<ScottPlot.Bar>();
for (int r = 0; r < rows.Count; r++)
{
    for (int s = 0; s < series.Length; s++)
    {
        bars.Add(new ScottPlot.Bar { Position = r * (series.Length + 1) + s, Value = rows[r].Ratios[s] * 100, FillColor = palette.GetColor(s) });
    }
}
plot.Add.Bars(bars);
plot.Axes.Bottom.SetTicks(rows.Select((_, r) => r * (series.Length + 1) + (series.Length - 1) / 2.0).ToArray(), rows.Select(x => x.Label).ToArray());
for (int s = 0; s < series.Length; s++)
{
    plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = series[s], FillColor = palette.GetColor(s) });
}
plot.Axes.Left.Label.Text = "hit ratio (%)";
plot.Title("Replacement designs through the whole VM against pure LRU and OPT");
plot.SavePng(Path.Combine(outDir, "page-replacement.png"), 1100, 500);
plot.SaveSvg(Path.Combine(outDir, "page-replacement.svg"), 1100, 500);
Console.WriteLine();
Console.WriteLine($"plot: {Path.Combine(outDir, "page-replacement.png")} (and .svg)");
return 0;

static string FindTraces()
{
    for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
    {
        foreach (var candidate in new[] { Path.Combine(d.FullName, "shared", "traces"), Path.Combine(d.FullName, "..", "shared", "traces") })
        {
            if (File.Exists(Path.Combine(candidate, "cs.trace.gz")))
            {
                return candidate;
            }
        }
    }
    throw new DirectoryNotFoundException("../shared/traces not found above the current directory");
}
