using FluentAssertions;
using Kernel.Core;
using Kernel.Mm.Vmscan;
using Kernel.Tests.Support;
using Kernel.Workloads;
using NUnit.Framework;

namespace Kernel.Tests.Workloads;

/// <summary>CLOCK-Pro over the 2.6 lists, the nonresident page table and /proc/refaults.</summary>
[Parallelizable(ParallelScope.All)]
public class ClockProTests
{
    [Test]
    public void TheNonresidentTableRemembersEvictionsAndEstimatesTheirDistance()
    {
        var t = new NonresidentTable(memoryPages: 4096, l1CacheBytes: 64);
        t.NumNr.Should().Be(15);
        t.Capacity.Should().BeGreaterThanOrEqualTo(4096);
        t.RecentlyEvicted(2, 7).Should().Be(-1, "never evicted");
        for (long i = 0; i < 1000; i++)
        {
            t.RememberPage(2, i);
        }
        long near = t.RecentlyEvicted(2, 999), far = t.RecentlyEvicted(2, 10);
        near.Should().BeInRange(0, 2 * t.Buckets, "the page evicted last is at distance about 0");
        far.Should().BeGreaterThan(near);
        t.RecentlyEvicted(2, 999).Should().Be(-1, "a refault clears the entry");
        t.Refaults.Should().Be(4);
        t.NewOrBeyond.Should().Be(2);
        var text = t.FormatRefaults().Split('\n');
        text[0].Should().Be("     Refault distance          Hits");
        text[1].Should().MatchRegex(@"^        0 - +\d+ +\d+$");
        text[16].Should().MatchRegex(@"^ New/Beyond +\d+ +2$");
    }

    [Test]
    public void RefaultsShowInProcRefaultsAndThePolicySwitchesAtRunTime()
    {
        var k = KernelBuilder.New().Boot();
        k.Proc.Read("/proc/sys/vm/page_replacement").Should().Be("lru\n");
        k.Proc.Write("/proc/sys/vm/page_replacement", "clockpro").Should().Be(0);
        k.Memory.Reclaim!.Policy.Should().Be(ReplacementPolicy.ClockPro);
        k.Proc.Write("/proc/sys/vm/page_replacement", "2q").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Read("/proc/sys/vm/page_replacement").Should().Be("clockpro\n");
        k.Proc.Read("/proc/refaults")!.Should().StartWith("     Refault distance          Hits\n");
    }

    [TestCase("hot+scan")]
    [TestCase("loop")]
    public void RefaultDistanceKeepsMoreOfTheReusedPagesThanTheKernelsLru(string kind)
    {
        // A hot set reread between the pages of a one-time scan, and a loop bigger than memory:
        // LRU lets each new page push out an older one; CLOCK-Pro sends refaults that are farther
        // than the oldest active page to the inactive list and keeps the active pages.
        var (trace, frames) = kind == "loop" ? (PageTrace.Loop(700, 8), 500) : (PageTrace.HotAndScan(300, 4000, 1), 250);
        TraceReplayResult Replay(ReplacementPolicy p) => TraceReplay.Run(trace, new TraceReplayOptions
        {
            Frames = frames,
            CheckInvariants = true,
            Configure = k => k.Proc.Write("/proc/sys/vm/page_replacement", p == ReplacementPolicy.ClockPro ? "clockpro" : "lru"),
        });
        var lru = Replay(ReplacementPolicy.Lru);
        var clockPro = Replay(ReplacementPolicy.ClockPro);
        long opt = CacheModels.OptHits(trace.Dense().References, frames);
        TestContext.Out.WriteLine($"{kind} at {frames} frames: LRU {lru.Hits}, CLOCK-Pro {clockPro.Hits}, OPT {opt}");
        clockPro.Hits.Should().BeGreaterThan(lru.Hits * 11 / 10);
        clockPro.Hits.Should().BeLessThan(opt);
    }
}
