using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Process;

public class SmokeTests
{
    [Test]
    public void TwoHogsOnOneCpuBothFinishAndShareTheCpu()
    {
        var k = KernelBuilder.New().Boot();
        var a = k.Spawn("hogA", async self => await self.Compute(Ms.Of(100)));
        var b = k.Spawn("hogB", async self => await self.Compute(Ms.Of(100)));
        k.RunUntilIdle(Ms.Of(10_000)).Should().BeTrue();
        a.ExitState.Should().Be(TaskState.EXIT_DEAD);
        b.ExitState.Should().Be(TaskState.EXIT_DEAD);
        a.SumExecRuntimeNs.Should().BeGreaterThanOrEqualTo(Ms.Of(100));
        k.Now.Should().BeGreaterThan(Ms.Of(200));
        a.Nivcsw.Should().BeGreaterThan(0, "two equal hogs must preempt each other at slice ends");
        k.AssertInvariants();
    }
}
