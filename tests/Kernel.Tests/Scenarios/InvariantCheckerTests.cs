using FluentAssertions;
using Kernel.Core;
using Kernel.Sched.O1;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Scenarios;

[Parallelizable(ParallelScope.All)]
public class InvariantCheckerTests
{
    [Test]
    public void CheckerNoticesARunqueueCountThatDisagreesWithItsQueues()
    {
        var k = KernelBuilder.New().Boot();
        k.Spawn("a", Programs.Hog);
        k.Spawn("b", Programs.Hog);
        k.Run(Ms.Of(10));
        k.CheckInvariants().Should().BeEmpty();
        var rq = ((O1Scheduler)k.Scheduler).RunQueues[0];
        rq.NrRunning++;
        k.CheckInvariants().Should().Contain(s => s.Contains("nr_running"));
        ((Action)k.AssertInvariants).Should().Throw<KernelBug>();
        rq.NrRunning--;
        k.CheckInvariants().Should().BeEmpty();
    }

    [Test]
    public void CheckerNoticesATaskQueuedOutsideItsAffinity()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        var a = k.Spawn("a", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = Kernel.Core.Tasks.CpuMask.Of(0) });
        k.Spawn("b", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = Kernel.Core.Tasks.CpuMask.Of(0) });
        k.Run(Ms.Of(10));
        var waiting = k.Machine.Cpus[0].Curr == a ? k.Tasks.First(t => t.Comm == "b") : a;
        waiting.CpusAllowed = Kernel.Core.Tasks.CpuMask.Of(1);
        k.CheckInvariants().Should().Contain(s => s.Contains("outside its affinity"));
    }
}
