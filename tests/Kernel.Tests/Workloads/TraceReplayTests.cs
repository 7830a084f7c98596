using FluentAssertions;
using Kernel.Workloads;
using NUnit.Framework;

namespace Kernel.Tests.Workloads;

/// <summary>The trace driver, the published traces' parser, and the OPT and LRU models it is compared with.</summary>
[Parallelizable(ParallelScope.All)]
public class TraceReplayTests
{
    /// <summary>../shared/traces beside the checkout.</summary>
    internal static string TracesDir()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Kernel.sln")))
            {
                return Path.Combine(d.Parent!.FullName, "shared", "traces");
            }
        }
        throw new DirectoryNotFoundException("no Kernel.sln above the test directory");
    }

    [Test]
    public void ThePublishedTracesParseWithTheirReadmesCounts()
    {
        var dir = TracesDir();
        var cs = PageTrace.Load(Path.Combine(dir, "cs.trace.gz"));
        cs.Name.Should().Be("cs");
        cs.References.Count.Should().Be(6781);
        cs.DistinctPages.Should().Be(1409);
        var gli = PageTrace.Load(Path.Combine(dir, "gli.trace.gz"));
        (gli.References.Count, gli.DistinctPages).Should().Be((6015, 2529), "the trailing empty line is no reference");
        var loop = PageTrace.Load(Path.Combine(dir, "loop.trace.gz"));
        (loop.References.Count, loop.DistinctPages).Should().Be((505500, 1011), "CRLF line ends parse");
        var dense = cs.Dense();
        dense.References.Max().Should().Be(1408);
        dense.References[0].Should().Be(0);
    }

    [Test]
    public void OptAndLruModelsGiveTheTextbookAnswers()
    {
        // Belady's example string with 3 frames: OPT 9 faults of 20 (11 hits), LRU 12 faults (8 hits).
        long[] refs = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
        CacheModels.OptHits(refs, 3).Should().Be(11);
        CacheModels.LruHits(refs, 3).Should().Be(8);
        var loop = PageTrace.Loop(10, 5).References;
        CacheModels.LruHits(loop, 9).Should().Be(0, "a loop one page bigger than the cache defeats LRU");
        CacheModels.OptHits(loop, 9).Should().BeGreaterThan(30);
    }

    [Test]
    public void ATraceThatFitsHitsOnEveryReferenceButTheFirstOfEachPage()
    {
        var trace = PageTrace.Zipf(pages: 300, count: 3000, alpha: 1.0, seed: 7);
        var r = TraceReplay.Run(trace, new TraceReplayOptions { Frames = 1000 });
        r.References.Should().Be(3000);
        r.ColdMisses.Should().Be(trace.DistinctPages);
        r.Hits.Should().Be(r.References - r.ColdMisses);
        r.PagesStolen.Should().Be(0);
    }

    [Test]
    public void TheKernelsLruIsBetweenPureLruAndOptOnARealTrace()
    {
        var trace = PageTrace.Load(Path.Combine(TracesDir(), "cs.trace.gz"));
        const int frames = 500;
        var r = TraceReplay.Run(trace, new TraceReplayOptions { Frames = frames });
        var refs = trace.Dense().References;
        long opt = CacheModels.OptHits(refs, frames), lru = CacheModels.LruHits(refs, frames);
        TestContext.Out.WriteLine($"cs, {frames} frames: kernel {r.Hits} hits ({r.HitRatio:P1}), LRU {lru}, OPT {opt}; resident {r.ResidentPages}, scanned {r.PagesScanned}, stolen {r.PagesStolen}");
        r.PagesStolen.Should().BePositive("the trace does not fit");
        r.Hits.Should().BeLessThanOrEqualTo(opt, "nothing beats OPT with the frames the trace had");
        r.ResidentPages.Should().BeInRange(frames * 8 / 10, frames * 12 / 10, "the balloon left about the frames asked for");
    }

    [Test]
    public void AnAnonymousReplayGoesThroughSwap()
    {
        var trace = PageTrace.Loop(pages: 1500, laps: 3);
        var r = TraceReplay.Run(trace, new TraceReplayOptions { Frames = 1000, Anonymous = true });
        TestContext.Out.WriteLine($"loop 1500 x3 anon, 1000 frames: {r.Hits} hits, {r.MajorFaults} major, {r.SwapOuts} out, {r.SwapIns} in");
        r.SwapOuts.Should().BePositive();
        r.SwapIns.Should().Be(r.MajorFaults, "without readahead every swap-in is one major fault");
        r.ColdMisses.Should().Be(1500);
        r.ResidentPages.Should().BeInRange(800, 1200, "about the frames asked for, each page counted once");
    }
}
