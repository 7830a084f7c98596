// schedule() pick and switch with N runnable tasks on one CPU: the kernel half of sched_yield
// (requeue the current task) followed by schedule() and the machine's context switch. The O(1)
// scheduler should be flat in N; the 2.4 goodness() loop grows linearly.
using BenchmarkDotNet.Attributes;
using Kernel.Core;
using Kernel.Sched;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class ScheduleBenchmarks
{
    private LinuxKernel _k = null!;
    private Machine _m = null!;

    [Params(10, 1_000, 100_000)]
    public int Runnable { get; set; }

    [Params(SchedulerKind.O1, SchedulerKind.Goodness24)]
    public SchedulerKind Scheduler { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // 100,000 tasks need ~1 GiB of kernel stacks and task_structs: a 2 GiB 64-bit machine.
        _k = LinuxKernel.Boot(new KernelOptions
        {
            Cpus = 1,
            Scheduler = Scheduler,
            PidMax = 200_000,
            Costs = CostTable.Free,
            Memory = new Kernel.Mm.MemoryOptions { MemoryBytes = 2L << 30, Arch = Kernel.Mm.Architecture.Flat64 },
        });
        for (int i = 0; i < Runnable; i++)
        {
            _k.Spawn("t", static async self => await self.Compute(1_000_000_000));
        }
        _m = _k.Machine;
        _m.EnterHostContext();
        // Get a runnable task onto the CPU first.
        _m.ScheduleFromWorkLoop(_m.Cpus[0].Curr);
    }

    [Benchmark]
    public int YieldAndSchedule()
    {
        var cpu = _m.Cpus[0];
        var prev = cpu.Curr;
        _k.Scheduler.Yield(prev);
        _m.ScheduleFromWorkLoop(prev);
        return cpu.Curr.Pid;
    }
}
