#:project ../../src/Kernel/Kernel.csproj
#:property TreatWarningsAsErrors=false
// Lesson: the O(1) scheduler's interactivity estimator.
// Run with: dotnet run docs/lessons/o1-scheduler.cs   (CI adds -- --short: two rows only)
//
// A CPU hog and a task that sleeps 10 ms for every 1 ms of work share one CPU. Watch the
// hog's dynamic priority drift to static+5 while the sleeper earns the -5 bonus and preempts
// the hog the moment it wakes.
using Kernel;
using Kernel.Core.Trace;

var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000 });
var hog = k.Spawn("hog", async self => { while (true) { await self.Compute(10_000_000); } });
var sleeper = k.Spawn("sleeper", async self =>
{
    while (true)
    {
        await self.Nanosleep(10_000_000);
        await self.Compute(1_000_000);
    }
});

int switches = 0;
k.Trace.SchedSwitch += _ => switches++;

Console.WriteLine("time    hog prio  sleeper prio  sleeper SleepAVG");
int rows = args.Contains("--short") ? 2 : 10;
for (int s = 1; s <= rows; s++)
{
    k.Run(500_000_000);
    string avg = k.Proc.Read($"/proc/{sleeper.Pid}/status")!
        .Split('\n').First(l => l.StartsWith("SleepAVG:")).Split('\t')[1];
    Console.WriteLine($"{s * 0.5,4:0.0} s  {hog.Prio,8}  {sleeper.Prio,12}  {avg,16}");
}
Console.WriteLine($"{switches} context switches; hog used {hog.SumExecRuntimeNs / 1e9:0.00} s of CPU");
Console.WriteLine(k.Proc.Read($"/proc/{hog.Pid}/stat"));
