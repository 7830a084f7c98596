using FluentAssertions;
using Kernel.Sched;
using Kernel.Sched.O1;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Sched;

[Parallelizable(ParallelScope.All)]
public class TopologyTests
{
    [Test]
    public void SmtMachineHasASiblingDomainUnderTheCpuDomain()
    {
        var k = KernelBuilder.New().Cpus(4).With(o => o with { Sched = new SchedOptions { ThreadsPerCore = 2 } }).Boot();
        var o1 = (O1Scheduler)k.Scheduler;
        var domains = o1.Domains(2).ToList();
        domains.Select(d => d.Name).Should().Equal("SIBLING", "CPU");
        domains[0].Span.Should().Be(Kernel.Core.Tasks.CpuMask.Of(2, 3));
        domains[0].Flags.Should().HaveFlag(SdFlags.SD_WAKE_IDLE).And.HaveFlag(SdFlags.SD_SHARE_CPUPOWER);
        domains[1].Groups.Should().HaveCount(2, "two physical cores");
        domains[1].Groups[0].CpuMask.IsSet(2).Should().BeTrue("groups start at the local one");
        k.Proc.SchedStat().Should().Contain("domain1 f");
    }

    [Test]
    public void UniprocessorHasNoDomains()
    {
        var k = KernelBuilder.New().Boot();
        ((O1Scheduler)k.Scheduler).Domains(0).Should().BeEmpty();
    }

    [Test]
    public void SmtMachineSpreadsHogsOverPhysicalCoresFirst()
    {
        var k = KernelBuilder.New().Cpus(4).With(o => o with { Sched = new SchedOptions { ThreadsPerCore = 2 } }).Boot();
        k.Spawn("parent", async self =>
        {
            await self.Fork(Programs.Hog);
            await self.Fork(Programs.Hog);
            await self.Wait4(-1);
        });
        k.Run(Ms.Of(3000));
        var busy = k.Machine.Cpus.Where(c => !c.IsIdle).Select(c => c.Id / 2).ToList();
        busy.Should().HaveCount(2);
        busy.Distinct().Should().HaveCount(2, "each hog gets a core of its own, not two siblings of one core");
        k.AssertInvariants();
    }
}
