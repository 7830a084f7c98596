using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Tests.Mm;
using NUnit.Framework;

namespace Kernel.Tests.Vmscan;

/// <summary>
/// A swapoff that cannot fit ends under every replacement design: the daemons hold 1.25 times
/// memory, try_to_unuse runs out, and the OOM killer takes the task in swapoff (PF_SWAPOFF) — no
/// livelock, the area goes back into use, no daemon byte is lost. Under 2.4.0 this once looped for
/// ever: with every page mapped and no swap slot to move one to, aging found nothing to free but
/// never counted as a failed scan, so direct reclaim reported progress on a trickle of frees.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class SwapoffUnderEveryDesignTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    [TestCase("lru")]
    [TestCase("clockpro")]
    [TestCase("2.4.0")]
    [TestCase("2.4.10")]
    public void ASwapoffThatCannotFitEndsInTheOomKillerAndLosesNothing(string design)
    {
        var k = SwapTests.BootWithSwap(memMb: 16, swapMb: 32);
        k.Proc.Write("/proc/sys/vm/page_replacement", design).Should().Be(0);
        bool check = false, on = false;
        long bad = 0;
        const long bytes = 5 * MemoryLayout.MiB;
        var daemons = new List<TaskStruct>();
        var swapon = k.Spawn("swapon", async self => { on = await self.Swapon("/dev/sdb") == 0; await self.Exit(0); });
        k.RunUntilExit(swapon, 1_000_000_000).Should().BeTrue();
        on.Should().BeTrue();
        for (int d = 0; d < 4; d++)
        {
            int seed = d;
            daemons.Add(k.Spawn($"daemon{d}", async self =>
            {
                long a = await self.Mmap(0, bytes, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                for (long off = 0; off < bytes; off += Page)
                {
                    await self.Store(a + off, off * 3 + seed);
                }
                while (!check)
                {
                    await self.Nanosleep(50_000_000);
                }
                for (long off = 0; off < bytes; off += Page)
                {
                    bad += await self.Load<long>(a + off) == off * 3 + seed ? 0 : 1;
                }
                await self.Exit(0);
            }));
        }
        k.RunUntil(() => false, 3_000_000_000);
        long result = 1;
        var swapoff = k.Spawn("swapoff", async self => { result = await self.Swapoff("/dev/sdb"); await self.Exit(0); });
        long t0 = k.Machine.Now;
        k.RunUntilExit(swapoff, 60_000_000_000).Should().BeTrue("swapoff ends; it does not loop for ever");
        TestContext.Out.WriteLine($"{design}: swapoff ended after {(k.Machine.Now - t0) / 1e6:F1} ms, exit {swapoff.ExitCode}, result {result}");
        (swapoff.ExitCode == 9 || result == Errno.ENOMEM.Ret()).Should().BeTrue("it is killed (PF_SWAPOFF is the OOM killer's first choice) or fails with ENOMEM");
        k.Memory.Swap.Areas.Should().ContainSingle("the area went back into use");
        check = true;
        foreach (var d in daemons)
        {
            k.RunUntilExit(d, 120_000_000_000).Should().BeTrue();
            d.ExitCode.Should().Be(0, "no daemon was killed");
        }
        bad.Should().Be(0);
        k.AssertInvariants();
    }
}
