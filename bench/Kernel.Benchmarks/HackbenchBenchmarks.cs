// hackbench at 50 groups (2,000 processes) run for one simulated second: the host time that
// costs (issue 7's target is at most one host second). Both schedulers, one and four CPUs; the
// message count shows how much work that second held.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kernel.Lab.Experiments;
using Kernel.Sched;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 3)] // each run is seconds long: no pilot stage
public class HackbenchBenchmarks
{
    [Params(SchedulerKind.O1, SchedulerKind.Goodness24)]
    public SchedulerKind Scheduler { get; set; }

    [Params(1, 4)]
    public int Cpus { get; set; }

    [Benchmark]
    public long FiftyGroupsOneSimulatedSecond()
    {
        var r = Hackbench.Run(new HackbenchOptions
        {
            Groups = 50,
            Loops = 1_000_000, // more than a second's worth: the limit ends the run
            Cpus = Cpus,
            Scheduler = Scheduler,
            LimitNs = 1_000_000_000,
        });
        return r.Messages;
    }
}
