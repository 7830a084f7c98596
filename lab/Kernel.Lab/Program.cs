// The lab: boot an emulated 2.6.20 kernel and run a scenario, then print what the scheduler did.
// Default scenario: CPU hogs at several nice levels, an interactive task that sleeps and wakes,
// bursts of short-lived forks, and a SCHED_FIFO task, on a 4-CPU machine.
using System.CommandLine;
using Kernel.Core.Tasks;
using Kernel.Lab;
using Kernel.Lab.Stress;
using Kernel.Sched;

var cpus = new Option<int>("--cpus") { Description = "Emulated CPUs (1-64)", DefaultValueFactory = _ => 4 };
var hz = new Option<int>("--hz") { Description = "Timer interrupt rate: 100, 250, 300 or 1000", DefaultValueFactory = _ => 250 };
var preempt = new Option<PreemptModel>("--preempt") { Description = "Preemption model: None, Voluntary or Full", DefaultValueFactory = _ => PreemptModel.None };
var sched = new Option<SchedulerKind>("--scheduler") { Description = "O1 (2.6) or Goodness24 (2.4)", DefaultValueFactory = _ => SchedulerKind.O1 };
var seed = new Option<ulong>("--seed") { Description = "Seed of the machine's random source", DefaultValueFactory = _ => 1UL };
var seconds = new Option<double>("--seconds") { Description = "Simulated seconds to run", DefaultValueFactory = _ => 5.0 };
var trace = new Option<string>("--trace") { Description = "Where to write the Perfetto/Chrome trace JSON ('' to skip)", DefaultValueFactory = _ => "lab-trace.json" };

var root = new RootCommand("Emulated Linux 2.6.20 kernel lab: run the default scheduler scenario")
{
    cpus, hz, preempt, sched, seed, seconds, trace,
};
root.SetAction(parse =>
{
    var options = new LabOptions(
        parse.GetValue(cpus), parse.GetValue(hz), parse.GetValue(preempt), parse.GetValue(sched),
        parse.GetValue(seed), parse.GetValue(seconds), parse.GetValue(trace) ?? "");
    return DefaultScenario.Run(options, Console.Out);
});
var firstSeed = new Option<ulong>("--first-seed") { Description = "First seed of the stress run", DefaultValueFactory = _ => 1UL };
var seeds = new Option<int>("--seeds") { Description = "How many seeds (one random kernel and program each)", DefaultValueFactory = _ => 100 };
var syscalls = new Option<int>("--syscalls") { Description = "Syscalls per seed", DefaultValueFactory = _ => 10_000 };
var parallel = new Option<int>("--parallel") { Description = "Seeds run at once (default: every core)", DefaultValueFactory = _ => Environment.ProcessorCount };
var stress = new Command("stress", "Random syscall programs on random kernel configurations; prints what they found")
{
    firstSeed, seeds, syscalls, parallel,
};
stress.SetAction(parse => StressCommand.Run(parse.GetValue(firstSeed), parse.GetValue(seeds), parse.GetValue(syscalls), parse.GetValue(parallel), Console.Out));
root.Subcommands.Add(stress);
return root.Parse(args).Invoke();
