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

    [Test]
    public void MinorFaultsOnAWarmMachineDoNotAllocate()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000 });
        long sweeps = 0, faults = 0, allocated = 0;
        k.Spawn("faulter", async self =>
        {
            long a = await self.Mmap(0, 256 * 4096, 3, 0x22);
            while (true)
            {
                long f0 = k.Memory.PgFault, b0 = GC.GetAllocatedBytesForCurrentThread();
                await self.Touch(a, 256 * 4096, write: true); // 256 minor faults: walk, page alloc, zero, tracepoint
                long b1 = GC.GetAllocatedBytesForCurrentThread();
                if (++sweeps > 20)
                {
                    allocated += b1 - b0; // measure the sweep alone: madvise is a syscall and may allocate
                    faults += k.Memory.PgFault - f0;
                }
                await self.Madvise(a, 256 * 4096, Kernel.Mm.Memory.Madv.MADV_DONTNEED);
                await self.Compute(10_000);
            }
        });
        k.Run(100_000_000);
        faults.Should().BeGreaterThan(10_000);
        // A Debug build's async state machine is a class, so each Touch call may allocate once;
        // a per-fault allocation (76 B before the synchronous fault path) would exceed a byte a fault.
        allocated.Should().BeLessThan(faults, "the fault path allocates nothing per fault");
    }
}
