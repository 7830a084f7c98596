using FluentAssertions;
using Kernel.Process;
using NUnit.Framework;

namespace Kernel.Tests.Scenarios;

/// <summary>The README's example, kept compiling and behaving as the README says.</summary>
public class ReadmeExampleTests
{
    [Test]
    public void ReadmeExampleRunsAsDocumented()
    {
        var output = new StringWriter();
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 2, Hz = 1000 });

        var hog = k.Spawn("hog", async self =>
        {
            await self.Compute(200_000_000);                  // 200 ms of CPU, preemptible
        });
        var parent = k.Spawn("parent", async self =>
        {
            long child = await self.Fork(async c => { await c.Compute(5_000_000); await c.Exit(7); });
            var r = await self.Wait4((int)child);             // sleeps until the child exits
            output.WriteLine($"child {r.Pid} exited with {r.WEXITSTATUS} at {self.Now} ns");
            await self.Nanosleep(TimeSpec.FromMilliseconds(10));
        });

        k.RunUntilIdle();                                     // simulated time; never host time
        output.WriteLine(k.Proc.Read($"/proc/{hog.Pid}/stat"));
        output.WriteLine(k.Proc.SchedStat());
        k.AssertInvariants();                                 // runqueues, bitmaps, family links, pids

        output.ToString().Should().MatchRegex(@"child \d+ exited with 7 at \d+ ns");
        hog.SumExecRuntimeNs.Should().BeGreaterThanOrEqualTo(200_000_000);
        parent.ExitCode.Should().Be(0);
    }
}
