using FluentAssertions;
using Kernel.Workloads;
using NUnit.Framework;

namespace Kernel.Tests.Workloads;

/// <summary>The LIRS cache model on hand-worked reference strings and on the loop that defeats LRU.</summary>
[Parallelizable(ParallelScope.All)]
public class LirsModelTests
{
    [Test]
    public void AScanPassesThroughTheHirFrameAndLeavesTheLirPagesResident()
    {
        // 3 frames: 2 LIR, 1 HIR. 1 and 2 become LIR; 3..6 each take the HIR frame and are evicted
        // by the next; 1 and 2 still hit. LRU lost them to the scan.
        long[] refs = [1, 2, 1, 2, 3, 4, 5, 6, 1, 2];
        LirsModel.Hits(refs, 3).Should().Be(4);
        CacheModels.LruHits(refs, 3).Should().Be(2);
    }

    [Test]
    public void AHirPageReusedWithinTheStackBecomesLirAndTheOldestLirPageStepsDown()
    {
        // 3 frames. 1, 2 LIR; 3 HIR (resident). 3 again while still in the stack: a shorter reuse
        // distance than 1's, so 3 becomes LIR and 1 (the bottom LIR) becomes the resident HIR page;
        // then 4 evicts 1, and 1 misses while 2 and 3 hit.
        long[] refs = [1, 2, 3, 3, 4, 2, 3, 1];
        LirsModel.Hits(refs, 3).Should().Be(3, "3 (second touch), 2 and 3 hit; 1 was evicted as the HIR page");
    }

    [Test]
    public void ALoopLargerThanMemoryKeepsAlmostEverythingOptKeeps()
    {
        var refs = Enumerable.Range(0, 8).SelectMany(_ => Enumerable.Range(0, 700).Select(p => (long)p)).ToArray();
        long lirs = LirsModel.Hits(refs, 500), opt = CacheModels.OptHits(refs, 500);
        CacheModels.LruHits(refs, 500).Should().Be(0, "LRU evicts each page just before its reuse");
        lirs.Should().BeGreaterThan(opt * 9 / 10, "the LIR pages stay resident through every pass");
        lirs.Should().BeLessThanOrEqualTo(opt);
    }

    [Test]
    public void TooFewFramesAreRejected()
    {
        ((Action)(() => LirsModel.Hits([1L], 1))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
