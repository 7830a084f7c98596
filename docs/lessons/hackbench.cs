#:project ../../lab/Kernel.Lab/Kernel.Lab.csproj
#:package ScottPlot
#:property TreatWarningsAsErrors=false
// Experiment: the seed's message-passing comparison (Robert Love, "Introducing the 2.6 Kernel",
// Tables 1 to 3; OSDL ran hackbench on 2.6.0 against 2.4 up to 200 groups). Three parts:
//  1. hackbench with processes: groups of 20 senders and 20 receivers on pipes, messages per
//     simulated second, O(1) against the 2.4 goodness scheduler on 1 and 4 CPUs, growing groups;
//  2. hackbench with threads and the chat server (a handler per connection relays each message
//     to every client of the room), the same comparison at the sizes one fd table allows;
//  3. the ping-pong table: which CPU runs each of five CPU hogs on four CPUs, sampled over time.
// Run with: dotnet run docs/lessons/hackbench.cs [-- --out DIR]   (CI adds --short)
// The plot (hackbench.png and .svg) goes to DIR, by default a kernel-lessons folder in the temp dir.
//
// What to look at: every run starts its clock at hackbench's barrier, when all groups exist. On one
// CPU the O(1) scheduler's cost per message stays flat as groups grow, while goodness() walks
// every runnable task on each schedule(): by 200 groups it moves a twelfth of what O(1) does. On four CPUs the O(1)
// balancer spreads the children that fork left on one CPU (the idle column drops to a few %),
// while 2.4 leaves three CPUs idle: a pipe's synchronous wake-up never kicks an idle CPU. The
// ping-pong table shows the other price 2.4 pays: its tasks wander between CPUs.
// Try next: StartBarrier = false (the forks join the measured time), Preempt = PreemptModel.Full.
using Kernel.Lab.Experiments;
using Kernel.Sched;

bool quick = args.Contains("--short");
int outAt = Array.IndexOf(args, "--out");
string outDir = outAt >= 0 && outAt + 1 < args.Length ? args[outAt + 1] : Path.Combine(Path.GetTempPath(), "kernel-lessons");
int[] groupCounts = quick ? [1, 2] : [1, 5, 10, 25, 50, 100, 200];
int loops = quick ? 3 : 10;
var schedulers = new[] { SchedulerKind.O1, SchedulerKind.Goodness24 };
var cpuCounts = new[] { 1, 4 };

Console.WriteLine($"1. hackbench, processes: 20 senders and 20 receivers per group, {loops} loops of 100-byte messages");
Console.WriteLine("scheduler   cpus  groups   messages  simulated ms  msgs per sim s  ns per msg  CPU moves/task  idle  host ms");
var series = new Dictionary<string, List<(double Groups, double Rate)>>();
foreach (var sched in schedulers)
{
    foreach (int cpus in cpuCounts)
    {
        var line = series[$"{(sched == SchedulerKind.O1 ? "O(1)" : "2.4 goodness")}, {cpus} CPU{(cpus > 1 ? "s" : "")}"] = [];
        foreach (int groups in groupCounts)
        {
            var r = Hackbench.Run(new HackbenchOptions { Groups = groups, Loops = loops, Cpus = cpus, Scheduler = sched });
            Print(sched, cpus, groups, r);
            line.Add((groups, r.MessagesPerSimSecond));
        }
    }
}

int[] small = quick ? [1] : [1, 5, 10];
Console.WriteLine();
Console.WriteLine($"2. threads of one process: hackbench -threads, and the chat server (20 clients a room, {loops} messages each)");
Console.WriteLine("scheduler   cpus  groups   messages  simulated ms  msgs per sim s  ns per msg  CPU moves/task  idle  host ms  workload");
foreach (var sched in schedulers)
{
    foreach (int cpus in cpuCounts)
    {
        foreach (int groups in small)
        {
            Print(sched, cpus, groups, Hackbench.Run(new HackbenchOptions { Groups = groups, Loops = loops, Cpus = cpus, Scheduler = sched, Mode = MessagingMode.Thread }), "hackbench -threads");
            Print(sched, cpus, groups, ChatServer.Run(new ChatServerOptions { Rooms = groups, Messages = loops, Cpus = cpus, Scheduler = sched }), "chat server");
        }
    }
}

Console.WriteLine();
Console.WriteLine("3. ping-pong: the CPU running each of five CPU hogs on four CPUs, every 100 ms after a 500 ms warm-up (- = waiting)");
int samples = quick ? 4 : 10;
foreach (var sched in schedulers)
{
    var p = PingPong.Run(new PingPongOptions { Scheduler = sched, Samples = samples });
    Console.WriteLine($"{sched}: {p.MigrationsPerTaskSecond:0.0} CPU changes per task per second");
    for (int i = 0; i < p.Tasks.Count; i++)
    {
        var cells = Enumerable.Range(0, samples).Select(s => p.Cpu[i, s] < 0 ? "-" : p.Cpu[i, s].ToString());
        Console.WriteLine($"  task {p.Tasks[i]}:  {string.Join("  ", cells)}   ({p.Migrations[i]} changes)");
    }
}

Directory.CreateDirectory(outDir);
var plot = new ScottPlot.Plot();
foreach (var (name, points) in series)
{
    var scatter = plot.Add.Scatter(points.Select(q => q.Groups).ToArray(), points.Select(q => q.Rate / 1e6).ToArray());
    scatter.LegendText = name;
}
plot.Axes.Bottom.Label.Text = "groups (40 tasks each)";
plot.Axes.Left.Label.Text = "million messages per simulated second";
plot.Title("hackbench on the emulated kernel: O(1) against 2.4 goodness");
plot.Axes.SetLimitsY(0, series.Values.SelectMany(v => v).Max(q => q.Rate) / 1e6 * 1.1); // from zero: no exaggerated gaps
plot.ShowLegend(ScottPlot.Alignment.LowerRight);
plot.SavePng(Path.Combine(outDir, "hackbench.png"), 800, 500);
plot.SaveSvg(Path.Combine(outDir, "hackbench.svg"), 800, 500);
Console.WriteLine();
Console.WriteLine($"plot: {Path.Combine(outDir, "hackbench.png")} (and .svg)");
return 0;

static void Print(SchedulerKind sched, int cpus, int groups, MessagingResult r, string what = "")
{
    if (!r.Complete)
    {
        throw new InvalidOperationException($"only {r.Messages} of {r.Expected} messages arrived");
    }
    Console.WriteLine($"{sched,-10}  {cpus,4}  {groups,6}  {r.Messages,9}  {r.SimulatedNs / 1e6,12:0.0}  {r.MessagesPerSimSecond,14:0}  {r.SimulatedNs / (double)r.Messages,10:0}  {r.MigrationsPerTask,14:0.00}  {r.IdleFraction,4:0.00}  {r.HostMs,7:0}  {what}");
}
