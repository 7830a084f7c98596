#:project ../../lab/Kernel.Lab/Kernel.Lab.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Experiment: the block layer's three comparisons from the seed (Robert Love, "Introducing the 2.6
// Kernel": the deadline I/O scheduler, one lock per request queue, no bounce buffers), on the
// emulated 2.6.20 block layer.
//  1. Reads under a streaming writer: on a 7200 rpm disk a writer streams 16 MB chunks (buffered,
//     fsynced) while a reader reads scattered 4 KB blocks with O_DIRECT. Read latency, disk
//     throughput and seeks for noop, deadline, anticipatory and cfq.
//  2. Four RAM disks on four CPUs: one global io_request_lock (2.4) against a lock per queue.
//  3. O_DIRECT from highmem pages: a disk whose DMA reaches highmem against one that needs bounces.
// Run with: dotnet run docs/lessons/block-elevators.cs [-- --out DIR]   (CI adds --short)
// The plot (block-elevators.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: noop serves the reader's read behind every queued write (a third of a second);
// deadline lets a write batch finish and then serves the read (about one batch of 16 writes and
// two seeks); anticipatory waits a few milliseconds after each read for the reader's next one,
// so the reader's reads run back to back and the head stays put (a tenth of the seeks). CFQ gets
// there another way: the reader has its own queue and a 100 ms slice in which the disk idles up to
// slice_idle (8 ms) for its next read, while the writer's async queue gets 40 ms slices. The
// writer pays for both: less written in the reader's time. The shared lock shows as spin time that
// per-queue locks never see; bouncing copies every byte once more and holds lowmem pages.
// Try next: ReaderThinkNs = 10 ms (longer than antic_expire and slice_idle: idling stops paying),
// write /sys/block/sda/queue/iosched/fifo_batch (deadline) or slice_idle (cfq), or give the reader
// ioprio_set(IOPRIO_CLASS_BE, 0).
using Kernel.Lab.Experiments;

bool quick = args.Contains("--short");
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
int reads = quick ? 20 : 200;
string[] elevators = ["noop", "deadline", "anticipatory", "cfq"];

Console.WriteLine($"1. Reads under a streaming writer: {reads} scattered 4 KB O_DIRECT reads, 16 MB fsynced write chunks, 7200 rpm disk");
Console.WriteLine("elevator       read p50 ms  p90 ms  p99 ms  max ms  disk MB/s  MB written  seeks  mean seek (cyl)  simulated ms");
var results = new List<StreamingWriterResult>();
foreach (var e in elevators)
{
    var r = StreamingWriter.Run(new StreamingWriterOptions { Elevator = e, Reads = reads });
    results.Add(r);
    Console.WriteLine($"{e,-13} {r.Percentile(50) / 1e6,11:0.0} {r.Percentile(90) / 1e6,7:0.0} {r.Percentile(99) / 1e6,7:0.0} {r.ReadLatenciesNs[^1] / 1e6,7:0.0} {r.ThroughputMBps,10:0.0} {r.BytesWritten / 1e6,11:0} {r.Seeks,6} {r.MeanSeekCylinders,16:0} {r.SimulatedNs / 1e6,13:0}");
}

Console.WriteLine();
Console.WriteLine("2. Four RAM disks on four CPUs, 300 O_DIRECT page writes per CPU");
Console.WriteLine("locking          acquisitions  contentions  spin us  simulated us");
foreach (bool shared in new[] { false, true })
{
    var r = BlockLocking.IoRequestLock(shared, quick ? 50 : 300);
    Console.WriteLine($"{(shared ? "io_request_lock" : "per queue"),-16} {r.Acquisitions,12} {r.Contentions,12} {r.SpinNs / 1e3,8:0} {r.SimulatedNs / 1e3,13:0}");
}

Console.WriteLine();
Console.WriteLine("3. O_DIRECT write and read-back of 64 highmem pages, 10 rounds");
Console.WriteLine("DMA reaches       MB moved  bounced bios  MB copied  max bounce pages  simulated us");
foreach (bool lowOnly in new[] { false, true })
{
    var r = BlockLocking.Bounce(lowOnly, 64, quick ? 2 : 10);
    Console.WriteLine($"{(lowOnly ? "lowmem only" : "all memory"),-16} {r.Bytes / 1e6,9:0.0} {r.BouncedBios,13} {r.BytesCopied / 1e6,10:0.0} {r.MaxBouncePages,17} {r.SimulatedNs / 1e3,13:0}");
}

Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
double[] ps = [50, 90, 99];
for (int i = 0; i < results.Count; i++)
{
    var bars = ps.Select((p, j) => new ScottPlot.Bar { Position = j * 5 + i, Value = results[i].Percentile(p) / 1e6, FillColor = ScottPlot.Palette.Default.GetColor(i) }).ToList();
    plot.Add.Bars(bars);
    plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = results[i].Elevator, FillColor = ScottPlot.Palette.Default.GetColor(i) });
}
plot.Axes.Bottom.SetTicks(ps.Select((_, j) => j * 5 + 1.5).ToArray(), ps.Select(p => $"p{p}").ToArray());
plot.Axes.Left.Label.Text = "read latency, ms (simulated)";
plot.Title("Reads under a streaming writer: noop, deadline, anticipatory, cfq");
plot.Axes.SetLimitsY(0, results.Max(r => r.Percentile(99)) / 1e6 * 1.15);
plot.ShowLegend(ScottPlot.Alignment.UpperRight);
plot.SavePng(Path.Combine(outDir, "block-elevators.png"), 800, 500);
plot.SaveSvg(Path.Combine(outDir, "block-elevators.svg"), 800, 500);
Console.WriteLine();
Console.WriteLine($"plot: {Path.Combine(outDir, "block-elevators.png")} (and .svg)");
return 0;
