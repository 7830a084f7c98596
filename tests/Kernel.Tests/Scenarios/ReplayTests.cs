using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Core.Trace;
using Kernel.Sched;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Scenarios;

[Parallelizable(ParallelScope.All)]
public class ReplayTests
{
    /// <summary>A busy mixed workload whose timing depends on the seed (random sleeps, APIC phases).</summary>
    private static (ulong Hash, long Count) RunMixed(ulong seed, SchedulerKind kind = SchedulerKind.O1, PreemptModel model = PreemptModel.Full)
    {
        var k = KernelBuilder.New().Cpus(4).Seed(seed).Scheduler(kind).Preempt(model).Boot();
        var hasher = new TraceHasher();
        k.Trace.AddSink(hasher);
        for (int i = 0; i < 6; i++)
        {
            k.Spawn("hog", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = i - 3 });
        }
        k.Spawn("random-sleeper", async self =>
        {
            while (true)
            {
                await self.Nanosleep(self.Random.Next(100_000, 5_000_000));
                await self.Compute(self.Random.Next(10_000, 500_000));
            }
        });
        k.Spawn("forker", async self =>
        {
            while (true)
            {
                await self.Fork(async c => await c.Compute(300_000));
                await self.Wait4(-1);
                await self.Nanosleep(2_000_000);
            }
        });
        k.Run(Ms.Of(1500));
        k.AssertInvariants();
        return (hasher.Hash, hasher.Count);
    }

    [TestCase(SchedulerKind.O1)]
    [TestCase(SchedulerKind.Goodness24)]
    public void SameSeedGivesTheSameTraceBitForBit(SchedulerKind kind)
    {
        var a = RunMixed(7, kind);
        var b = RunMixed(7, kind);
        a.Count.Should().BeGreaterThan(500);
        b.Should().Be(a);
    }

    [Test]
    public void AnotherSeedChangesTheTrace()
    {
        RunMixed(7).Hash.Should().NotBe(RunMixed(8).Hash);
    }

    [Test]
    public void KernelsRunInParallelOnHostThreadsWithoutInterfering()
    {
        var expected = RunMixed(11);
        var results = new (ulong, long)[4];
        Parallel.For(0, 4, i => results[i] = RunMixed(11));
        results.Should().AllBeEquivalentTo(expected);
    }
}
