#:project ../../src/Kernel.Nptl/Kernel.Nptl.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Lesson and experiment: the NPTL paper's thread test (Drepper and Molnar, "The Native POSIX
// Thread Library for Linux", 2003): create and destroy 100,000 threads, with 1, 5 and 10 threads
// running in parallel per creator. Each thread is a clone with glibc's flags; each join sleeps on
// the tid word that the kernel zeroes and wakes at the thread's exit (CLONE_CHILD_CLEARTID).
// Run with: dotnet run docs/lessons/nptl-threads.cs [-- --out DIR]   (CI adds --short: 10,000 threads)
// The plot (nptl-threads.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: simulated time grows with the work the kernel does per thread (clone, the
// first schedule, exit, the futex wake, the join's wait), not with how many exist at once; more
// parallel threads let a second CPU take some of them. Try next: Cpus = 1 against 4, or give each
// thread some Compute and watch the parallel columns pull apart.
using System.Diagnostics;
using Kernel;
using Kernel.Nptl;

int total = args.Contains("--short") ? 10_000 : 100_000;
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
var bars = new List<(int Cpus, int Parallel, double SimMs, double HostMs)>();
Console.WriteLine($"{total:N0} threads created, run and joined");
Console.WriteLine("cpus  parallel  simulated ms  host ms  futex calls");
foreach (int cpus in new[] { 1, 4 })
{
    foreach (int parallel in new[] { 1, 5, 10 })
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = cpus, Hz = 1000 });
        long futexCalls = 0, joined = 0;
        var creator = k.Spawn("creator", async self =>
        {
            var heap = await UserHeap.Create(self);
            var batch = new List<PthreadT>(parallel);
            while (joined < total)
            {
                for (int i = 0; i < parallel; i++)
                {
                    batch.Add(await Pthread.Create(self, heap, static _ => ValueTask.CompletedTask));
                }
                foreach (var t in batch)
                {
                    await Pthread.Join(self, t);
                    joined++;
                }
                batch.Clear();
            }
            futexCalls = self.FutexCalls;
        });
        var sw = Stopwatch.StartNew();
        long t0 = k.Machine.Now;
        k.RunUntilIdle();
        sw.Stop();
        Console.WriteLine($"{cpus,4}  {parallel,8}  {(k.Machine.Now - t0) / 1e6,12:0.0}  {sw.Elapsed.TotalMilliseconds,7:0}  {futexCalls,11:N0}");
        bars.Add((cpus, parallel, (k.Machine.Now - t0) / 1e6, sw.Elapsed.TotalMilliseconds));
        if (joined != total || creator.ExitCode != 0)
        {
            Console.Error.WriteLine($"only {joined} joined");
            return 1;
        }
    }
}
// Simulated and host time side by side per configuration, as the paper's Table 4 lists them.
Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
var simBars = bars.Select((b, i) => new ScottPlot.Bar { Position = 3 * i, Value = b.SimMs, FillColor = ScottPlot.Colors.SteelBlue }).ToList();
var hostBars = bars.Select((b, i) => new ScottPlot.Bar { Position = 3 * i + 1, Value = b.HostMs, FillColor = ScottPlot.Colors.Orange }).ToList();
plot.Add.Bars(simBars);
plot.Add.Bars(hostBars);
plot.Axes.Bottom.SetTicks(bars.Select((_, i) => 3.0 * i + 0.5).ToArray(), bars.Select(b => $"{b.Cpus} CPU, {b.Parallel} at once").ToArray());
plot.Axes.Left.Label.Text = "ms (blue: simulated, orange: host)";
plot.Title($"{total:N0} threads created and joined");
plot.SavePng(Path.Combine(outDir, "nptl-threads.png"), 900, 500);
plot.SaveSvg(Path.Combine(outDir, "nptl-threads.svg"), 900, 500);
Console.WriteLine($"plot: {Path.Combine(outDir, "nptl-threads.png")} (and .svg)");
return 0;
