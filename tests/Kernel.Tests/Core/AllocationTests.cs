using FluentAssertions;
using Kernel.Core;
using NUnit.Framework;

namespace Kernel.Tests.Core;

public class AllocationTests
{
    [Test]
    public void NonBlockingSyscallsAndTheSteadyStateRunLoopDoNotAllocate()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 2, Hz = 1000, Costs = CostTable.Default });
        long sum = 0;
        for (int t = 0; t < 3; t++)
        {
            k.Spawn("spinner", async self =>
            {
                while (true)
                {
                    for (int i = 0; i < 100; i++)
                    {
                        sum += self.Getpid() + self.Getppid() + self.Gettid();
                    }
                    await self.Compute(10_000);
                }
            });
        }
        k.Run(200_000_000); // warm up: queues and heaps reach their working size
        long before = GC.GetAllocatedBytesForCurrentThread();
        k.Run(200_000_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        sum.Should().BeGreaterThan(0);
        allocated.Should().Be(0, "getpid, compute, ticks, preemption and context switches allocate nothing");
    }
}
