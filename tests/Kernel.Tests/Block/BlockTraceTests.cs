using FluentAssertions;
using Kernel.Block;
using NUnit.Framework;
using static Kernel.Tests.Block.BlockKit;

namespace Kernel.Tests.Block;

/// <summary>The block tracepoints and their blkparse text.</summary>
[Parallelizable(ParallelScope.All)]
public class BlockTraceTests
{
    [Test]
    public void APluggedMergeAndItsCompletionTraceAsBlkparseShowsThem()
    {
        var (k, disk, _) = WithDisk(hz: 1000);
        using var trace = new BlkParse(k.Block);
        var q = disk.Queue;
        int done = 0;
        Bio.EndIoFn end = (b, _, _) =>
        {
            if (b.Size == 0)
            {
                done++;
                b.Put();
            }
        };
        Submit(q, NewBio(k, 2048, 8, write: true, endIo: end));
        Submit(q, NewBio(k, 2056, 8, write: true, endIo: end));
        k.RunUntil(() => done == 2, 1_000_000_000).Should().BeTrue();
        string.Concat(trace.Events.Select(e => BlockTraceEvent.Letter(e.Action))).Should().Be("QGPIQMTDC");
        var lines = trace.Format().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().Be("  8,0  0        1     0.000000000     0  Q   W 2048 + 8 [swapper]");
        lines[5].Should().EndWith("M   W 2056 + 8 [swapper]");
        lines[6].Should().MatchRegex(@"^  8,0  0        7     0\.003\d{6}     0  T   N \[swapper\] 1$");
        lines[7].Should().Contain(" D   W 2048 + 16 [kblockd/0]");
        lines[8].Should().EndWith("C   W 2048 + 16 [0]");
        disk.QueueDepthHistogram[1].Should().Be(1, "one request existed when the driver took it");
        disk.LatencyHistogram(WRITE).Sum().Should().Be(1);
    }
}
