// Process churn and syscall round trips, measured on the host.
using BenchmarkDotNet.Attributes;
using Kernel.Core;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class ForkExitWaitBenchmarks
{
    [Benchmark(Description = "100,000 tasks created and reaped (clone, exit, wait4)")]
    public long HundredThousandForks()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1 });
        long reaped = 0;
        k.Spawn("forker", async self =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                await self.Fork(static c => ValueTask.CompletedTask);
                if ((await self.Wait4(-1)).Pid > 0)
                {
                    reaped++;
                }
            }
        });
        k.RunUntilIdle();
        if (reaped != 100_000)
        {
            throw new InvalidOperationException($"reaped {reaped}");
        }
        return reaped;
    }
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class SyscallBenchmarks
{
    private const int PerResume = 1000;
    private LinuxKernel _k = null!;
    private long _sum;

    [GlobalSetup]
    public void Setup()
    {
        // Free costs: each resume is followed by exactly 1 us of compute, so Run(1 us) is one resume.
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free });
        _k.Spawn("getpid", async self =>
        {
            while (true)
            {
                for (int i = 0; i < PerResume; i++)
                {
                    _sum += self.Getpid();
                }
                await self.Compute(1000);
            }
        });
        _k.Run(10_000_000);
    }

    [Benchmark(OperationsPerInvoke = PerResume, Description = "getpid() round trip from an emulated program")]
    public void Getpid() => _k.Run(1000);
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class SuspendResumeBenchmarks
{
    private LinuxKernel _k = null!;

    [Params(1, 100, 10_000)]
    public int Programs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Free costs and a 1 us compute per step: Run(1 us) is one segment end and one resume.
        // The other programs sleep, to show the cost does not depend on how many exist.
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free });
        for (int i = 0; i < Programs - 1; i++)
        {
            _k.Spawn("sleeper", static async self => await self.Nanosleep(3_600_000_000_000));
        }
        _k.Spawn("computer", static async self =>
        {
            while (true)
            {
                await self.Compute(1000);
            }
        });
        _k.Run(10_000_000);
    }

    [Benchmark(Description = "Compute(1 us): one segment, suspend and resume of a program")]
    public void SuspendResume() => _k.Run(1000);
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class LabScenarioBenchmarks
{
    [Benchmark(Description = "lab default scenario, 1 simulated second, 4 CPUs")]
    public long OneSimulatedSecond()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 4 });
        Kernel.Lab.DefaultScenario.Populate(k);
        k.Run(1_000_000_000);
        return k.Machine.EventsProcessed;
    }
}
