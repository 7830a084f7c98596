using FluentAssertions;
using Kernel.Block;
using Kernel.Core;
using Kernel.Mm;
using NUnit.Framework;
using static Kernel.Tests.Block.BlockKit;

namespace Kernel.Tests.Block;

/// <summary>Keeping bios within a device's limits: bio_add_page against the queue, and bio_split's pairs.</summary>
[Parallelizable(ParallelScope.All)]
public class BioSplitTests
{
    [Test]
    public void BioAddPageStopsAtTheQueuesSegmentAndSectorLimits()
    {
        var (k, disk, _) = WithDisk();
        var q = disk.Queue;
        q.SetMaxSegments(4, 8);
        var bio = BlockLayer.Of(k.Memory).FsBioSet.Alloc(Gfp.GFP_NOIO, 16)!;
        int added = 0;
        for (int i = 0; i < 8; i++)
        {
            added += q.BioAddPage(bio, 1000 + 2 * i, 4096, 0) > 0 ? 1 : 0;
        }
        added.Should().Be(4, "four frames that are not adjacent are four segments, the smaller of the two limits");
        q.BioAddPage(bio, 1006, 512, 0).Should().Be(0, "a new piece of another frame is a fifth segment");
        var one = BlockLayer.Of(k.Memory).FsBioSet.Alloc(Gfp.GFP_NOIO, 16)!;
        for (int i = 0; i < 8; i++)
        {
            q.BioAddPage(one, 3000, 512, 512 * i).Should().Be(512, "pieces that continue the last one in its frame add no segment");
        }
        one.Vcnt.Should().Be(1);
        var big = BlockLayer.Of(k.Memory).FsBioSet.Alloc(Gfp.GFP_NOIO, 64)!;
        q.SetMaxSegments(128, 128);
        int pages = 0;
        while (q.BioAddPage(big, 5000 + 2 * pages, 4096, 0) > 0)
        {
            pages++;
        }
        (pages * 8).Should().Be(q.MaxSectors, "max_sectors (256) ends the bio at 32 pages");
        foreach (var b in new[] { bio, one, big })
        {
            b.Put();
        }
    }

    [Test]
    public void ASplitBioEndsOnceWhenBothHalvesAndTheCallerAreDoneAndTheSplitIsTraced()
    {
        var (k, disk, driver) = WithDisk();
        var q = disk.Queue;
        using var parse = new BlkParse(k.Block);
        int ends = 0, lastError = 1;
        var master = NewBio(k, 1000, 8, write: true, endIo: (b, _, err) =>
        {
            ends++;
            lastError = err;
            b.Put();
        });
        var pair = BioPair.Split(q, k.Block.FsBioSet, master, 3)!;
        (pair.Bio1.Sector, pair.Bio1.Sectors, pair.Bio2.Sector, pair.Bio2.Sectors).Should().Be((1000L, 3L, 1003L, 5L));
        (pair.Bio1.IoVec[0].Offset, pair.Bio2.IoVec[0].Offset, pair.Bio2.IoVec[0].Pfn).Should().Be((0, 1536, master.IoVec[0].Pfn));
        Submit(q, pair.Bio1);
        Submit(q, pair.Bio2);
        pair.Release();
        k.RunUntil(() => ends > 0, 1_000_000_000).Should().BeTrue();
        (ends, lastError).Should().Be((1, 0));
        parse.Format().Should().Contain("X   W 1000 / 1003 [swapper]");

        driver.FailSector(2005);
        var failing = NewBio(k, 2000, 8, write: false, endIo: (b, _, err) =>
        {
            ends++;
            lastError = err;
            b.Put();
        });
        var p2 = BioPair.Split(q, k.Block.FsBioSet, failing, 4)!;
        Submit(q, p2.Bio1);
        Submit(q, p2.Bio2);
        p2.Release();
        k.RunUntil(() => ends > 1, 1_000_000_000).Should().BeTrue();
        (ends, (long)lastError).Should().Be((2, Errno.EIO.Ret()), "the second half's error is the master's");
        k.AssertInvariants();
    }

    [Test]
    public void OnlyAnUnstartedBioOfOneVectorSplits()
    {
        var (k, disk, _) = WithDisk();
        var two = NewBio(k, 0, 16, write: false);
        ((Action)(() => BioPair.Split(disk.Queue, k.Block.FsBioSet, two, 8))).Should().Throw<KernelBug>().WithMessage("*2 bio_vecs*");
        var one = NewBio(k, 0, 8, write: false);
        ((Action)(() => BioPair.Split(disk.Queue, k.Block.FsBioSet, one, 8))).Should().Throw<ArgumentOutOfRangeException>();
        two.Put();
        one.Put();
    }
}
