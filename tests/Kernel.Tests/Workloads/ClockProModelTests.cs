using FluentAssertions;
using Kernel.Workloads;
using NUnit.Framework;

namespace Kernel.Tests.Workloads;

/// <summary>The CLOCK-Pro cache model: scan resistance, loops, and agreement with LIRS, which it approximates.</summary>
[Parallelizable(ParallelScope.All)]
public class ClockProModelTests
{
    [Test]
    public void HotPagesSurviveAOneTimeScan()
    {
        // 3 frames, one cold: 1 and 2 warm up hot; the scan 3..6 goes through the cold frame; 1 and 2 still hit.
        long[] refs = [1, 2, 1, 2, 3, 4, 5, 6, 1, 2];
        ClockProModel.Hits(refs, 3).Should().Be(4);
        CacheModels.LruHits(refs, 3).Should().Be(2);
    }

    [Test]
    public void ALoopLargerThanMemoryKeepsAlmostEverythingOptKeeps()
    {
        var refs = Enumerable.Range(0, 8).SelectMany(_ => Enumerable.Range(0, 700).Select(p => (long)p)).ToArray();
        long clockPro = ClockProModel.Hits(refs, 500), opt = CacheModels.OptHits(refs, 500);
        clockPro.Should().BeGreaterThan(opt * 9 / 10).And.BeLessThanOrEqualTo(opt);
    }

    [Test]
    public void OnAMixOfHotPagesAndScansItStaysCloseToLirs()
    {
        var trace = PageTrace.HotAndScan(300, 4000, 2).Dense().References;
        long clockPro = ClockProModel.Hits(trace, 250), lirs = LirsModel.Hits(trace, 250), opt = CacheModels.OptHits(trace, 250);
        TestContext.Out.WriteLine($"clock-pro {clockPro} lirs {lirs} opt {opt} lru {CacheModels.LruHits(trace, 250)}");
        clockPro.Should().BeLessThanOrEqualTo(opt);
        ((double)clockPro).Should().BeApproximately(lirs, lirs * 0.1, "CLOCK-Pro approximates LIRS");
    }

    [Test]
    public void TooFewFramesAreRejected()
    {
        ((Action)(() => ClockProModel.Hits([1L], 1))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
