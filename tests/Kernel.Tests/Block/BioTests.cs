using FluentAssertions;
using Kernel.Block;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>struct bio and its pools as fs/bio.c and mm/mempool.c of 2.6.20 have them.</summary>
[Parallelizable(ParallelScope.All)]
public class BioTests
{
    private static LinuxKernel Boot(long bytes = 64 * MemoryLayout.MiB) => KernelBuilder.New().Memory(bytes).BootForHostCalls();

    [Test]
    public void AddPageExtendsAContiguousPieceAndStopsAtTheVectorOrSectorLimit()
    {
        var k = Boot();
        var set = BioSet.CreateFsBioSet(k.Memory);
        var bio = set.Alloc(Gfp.GFP_NOIO, 4)!;
        bio.MaxVecs.Should().Be(4);
        bio.AddPage(100, 1024, 0).Should().Be(1024);
        bio.AddPage(100, 1024, 1024).Should().Be(1024, "the next bytes of the same frame");
        bio.Vcnt.Should().Be(1, "they extend the one bio_vec");
        bio.AddPage(101, 4096, 0).Should().Be(4096);
        bio.AddPage(102, 4096, 0).Should().Be(4096);
        bio.AddPage(103, 512, 0).Should().Be(512);
        bio.AddPage(104, 512, 0).Should().Be(0, "four bio_vecs are all it has");
        bio.Size.Should().Be(2048 + 4096 + 4096 + 512);
        bio.Sectors.Should().Be(bio.Size / 512);
        var small = set.Alloc(Gfp.GFP_NOIO, 16)!;
        small.AddPage(200, 4096, 0, maxSectors: 8).Should().Be(4096);
        small.AddPage(201, 512, 0, maxSectors: 8).Should().Be(0, "past the queue's max_sectors");
        ((Func<int>)(() => small.AddPage(202, 100, 4000))).Should().Throw<ArgumentOutOfRangeException>("a piece never crosses its page");
        bio.Put();
        small.Put();
    }

    [Test]
    public void EndioCompletesFromTheFrontAndAnErrorStaysWithTheBio()
    {
        var k = Boot();
        var set = BioSet.CreateFsBioSet(k.Memory);
        var bio = set.Alloc(Gfp.GFP_NOIO, 2)!;
        bio.Sector = 1000;
        bio.AddPage(10, 4096, 0);
        bio.AddPage(11, 4096, 0);
        var calls = new List<(int Bytes, int Error, long Sector, int Size)>();
        bio.OnEndIo = (b, bytes, err) => calls.Add((bytes, err, b.Sector, b.Size));
        bio.Endio(4096, 0);
        bio.Endio(1024, (int)Errno.EIO.Ret());
        bio.Endio(10_000, 0); // more than remains: what remains
        calls.Should().Equal((4096, 0, 1008L, 4096), (1024, (int)Errno.EIO.Ret(), 1010L, 3072), (3072, 0, 1016L, 0));
        bio.Uptodate.Should().BeFalse("an error clears BIO_UPTODATE for good");
        bio.Put();
        ((Action)bio.Put).Should().Throw<KernelBug>("a bio is put once per reference");
    }

    [Test]
    public void BiosAreSlabMemoryAndComeBackToTheirPools()
    {
        var k = Boot();
        var set = BioSet.CreateFsBioSet(k.Memory);
        var bioCache = k.Memory.FindCache("bio")!;
        long before = bioCache.InUseObjs;
        var vecCache = k.Memory.FindCache("biovec-16")!;
        long vecsBefore = vecCache.InUseObjs;
        var a = set.Alloc(Gfp.GFP_NOIO, 5)!;
        a.MaxVecs.Should().Be(16, "rounded up to the biovec-16 pool");
        var b = set.Alloc(Gfp.GFP_NOIO, 0)!;
        b.MaxVecs.Should().Be(0);
        set.Alloc(Gfp.GFP_NOIO, Bio.BIO_MAX_PAGES + 1).Should().BeNull("no pool holds more than BIO_MAX_PAGES");
        set.Allocated.Should().Be(2);
        bioCache.InUseObjs.Should().Be(before + 2);
        vecCache.InUseObjs.Should().Be(vecsBefore + 1);
        k.Proc.Read("/proc/slabinfo")!.Should().Contain("biovec-256").And.Contain("bio ");
        a.Get();
        a.Put();
        set.Allocated.Should().Be(2, "a pinned bio stays until its last put");
        a.Put();
        b.Put();
        set.Allocated.Should().Be(0);
        bioCache.InUseObjs.Should().Be(before, "the bios went back to their cache (the reserve was full)");
        vecCache.InUseObjs.Should().Be(vecsBefore);
        k.AssertInvariants();
    }

    [Test]
    public void TheReserveKeepsBiosComingWhenMemoryIsGoneAndAWaiterGetsTheNextFree()
    {
        var k = Boot(16 * MemoryLayout.MiB);
        var set = BioSet.CreateFsBioSet(k.Memory);
        // Spawned first (a task needs memory); it runs once every page is gone.
        Bio? got = null;
        long sleptAt = 0, gotAt = 0;
        var waiter = k.Spawn("writeback", async self =>
        {
            sleptAt = self.Now;
            await self.KernelCall(async m =>
            {
                got = await set.AllocAsync(Gfp.GFP_NOIO, 0);
                return 0;
            });
            gotAt = self.Now;
        });
        while (k.Memory.AllocPages(Gfp.GFP_ATOMIC, 0) >= 0)
        {
            // take every free page: the bio cache can grow no more
        }
        var held = new List<Bio>();
        while (set.Alloc(Gfp.GFP_NOIO, 0) is { } b) // bios without vectors: only the bio pool runs dry
        {
            held.Add(b);
        }
        set.BioPool.ReserveAllocations.Should().Be(BioSet.BIO_POOL_SIZE, "the whole reserve was used before giving up");
        set.BioPool.CurrNr.Should().Be(0);
        k.Run(Ms.Of(10));
        got.Should().BeNull("it sleeps: the reserve is empty");
        waiter.State.Should().Be(Kernel.Core.Tasks.TaskState.TASK_UNINTERRUPTIBLE);
        held[0].Put(); // refills the reserve and wakes the sleeper
        k.RunUntilIdle().Should().BeTrue();
        got.Should().NotBeNull();
        gotAt.Should().BeGreaterThan(sleptAt + Ms.Of(9));
        got!.Put();
        foreach (var b in held.Skip(1))
        {
            b.Put();
        }
        set.Allocated.Should().Be(0);
        set.BioPool.CurrNr.Should().Be(BioSet.BIO_POOL_SIZE, "frees refill the reserve first");
        k.AssertInvariants();
    }
}
