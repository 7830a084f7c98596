using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Sched.O1;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Sched;

[Parallelizable(ParallelScope.All)]
public class TimesliceTests
{
    private static readonly int[] Nices = [-20, -10, -5, -1, 0, 1, 5, 10, 15, 19];

    // static_prio_timeslice (2.6.9+) in jiffies, the table docs/sched.md reproduces.
    [TestCase(100, new[] { 80, 60, 50, 42, 10, 9, 7, 5, 2, 1 })]
    [TestCase(250, new[] { 200, 150, 125, 105, 25, 23, 18, 12, 6, 1 })]
    [TestCase(1000, new[] { 800, 600, 500, 420, 100, 95, 75, 50, 25, 5 })]
    public void SchedRrGetIntervalReportsTheTimesliceTableForEveryNiceLevel(int hz, int[] jiffies)
    {
        var k = KernelBuilder.New().Hz(hz).Boot();
        var seen = new long[Nices.Length];
        for (int i = 0; i < Nices.Length; i++)
        {
            int idx = i;
            k.Spawn($"n{Nices[i]}", self =>
            {
                seen[idx] = self.SchedRrGetInterval(0);
                return ValueTask.CompletedTask;
            }, new LinuxKernel.SpawnOptions { Nice = Nices[i] });
        }
        k.RunUntilIdle().Should().BeTrue();
        for (int i = 0; i < Nices.Length; i++)
        {
            seen[i].Should().Be(jiffies[i] * (1_000_000_000L / hz), $"nice {Nices[i]} at HZ={hz}");
        }
        k.AssertInvariants();
    }

    [Test]
    public void FifoTasksHaveNoTimeslice()
    {
        var k = KernelBuilder.New().Boot();
        long interval = -1;
        k.Spawn("fifo", self =>
        {
            interval = self.SchedRrGetInterval(0);
            return ValueTask.CompletedTask;
        }, new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 10 });
        k.RunUntilIdle();
        interval.Should().Be(0);
    }

    [TestCase(-20, -3)]
    [TestCase(-15, -2)]
    [TestCase(-10, -1)]
    [TestCase(-5, 0)]
    [TestCase(0, 2)]
    [TestCase(5, 3)]
    [TestCase(19, 6)]
    public void DeltaMatchesTheTwoSixSeventeenFormula(int nice, int delta)
    {
        var m = new Kernel.Core.Machine(new Kernel.Core.MachineOptions(), new O1Scheduler());
        var p = m.AllocTask(5, "x");
        p.StaticPrio = SchedParams.NICE_TO_PRIO(nice);
        SchedParams.Delta(p).Should().Be(delta);
    }
}
