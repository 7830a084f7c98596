using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Slab;
using Kernel.Mm.Vmscan;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Vmscan;

/// <summary>
/// shrink_slab through the public API: a harness's cache of slab objects registered with
/// set_shrinker gives objects back in proportion to reclaim's LRU scanning and to 1/seeks, its slab
/// pages count as reclaimed, slabs_scanned shows the work, and a shrinker that cannot shrink (-1)
/// is left alone.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class ShrinkerTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    /// <summary>Fill a 32 MB machine's cache of 8,192 objects, then read 64 MB through the page cache. Returns the objects left, the shrinker and the kernel.</summary>
    private static (int Left, Shrinker Shrinker, LinuxKernel K, long SlabFreed) Scenario(int seeks, bool refuse = false)
    {
        var k = KernelBuilder.New().Memory(32 * MemoryLayout.MiB).Hz(1000).Boot();
        k.Block.AttachDisk("sda", new RamDiskModel(), new MemoryBlockStore(64 * MemoryLayout.MiB));
        k.Machine.EnterHostContext();
        var cache = k.Memory.KmemCacheCreate("test_dentry", 256);
        var objects = new Queue<SlabObject>();
        for (int i = 0; i < 8192; i++)
        {
            objects.Enqueue(cache.Alloc(Gfp.GFP_KERNEL));
        }
        var shrinker = k.Memory.SetShrinker(seeks, (nr, gfp) =>
        {
            if (refuse)
            {
                return -1;
            }
            for (int i = 0; i < nr && objects.Count > 0; i++)
            {
                cache.Free(objects.Dequeue()); // the oldest go first, as prune_dcache takes the LRU's tail
            }
            return objects.Count;
        });
        long slabFreedBefore = k.Memory.SlabPagesFreed;
        var t = k.Spawn("reader", async self =>
        {
            long buf = await self.Mmap(0, 64 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            for (long off = 0; off < 64 * MemoryLayout.MiB; off += 64 * Page)
            {
                (await self.Read(fd, buf, 64 * Page)).Should().Be(64 * Page);
            }
            await self.Exit(0);
        });
        k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
        return (objects.Count, shrinker, k, k.Memory.SlabPagesFreed - slabFreedBefore);
    }

    [Test]
    public void ReclaimAsksARegisteredCacheForObjectsInProportionToItsScanning()
    {
        var (left, shrinker, k, slabFreed) = Scenario(Shrinker.DEFAULT_SEEKS);
        TestContext.Out.WriteLine($"objects left {left} of 8192, scanned {shrinker.Scanned}, slab pages freed {slabFreed}");
        left.Should().BeLessThan(8192, "reclaim asked the cache for objects");
        shrinker.Scanned.Should().BeGreaterThanOrEqualTo(8192 - left, "each object freed was asked for in a batch");
        (shrinker.Scanned % Shrinker.SHRINK_BATCH).Should().Be(0, "shrink_slab asks in batches of SHRINK_BATCH");
        var vmstat = k.Proc.Read("/proc/vmstat")!;
        vmstat.Should().Contain($"slabs_scanned {shrinker.Scanned}\n");
        slabFreed.Should().BePositive("the freed objects' empty slab pages went back to the page allocator");
        k.Memory.RemoveShrinker(shrinker).Should().BeTrue();
        k.Memory.Reclaim!.Shrinkers.Should().BeEmpty();
        k.Memory.RemoveShrinker(shrinker).Should().BeFalse();
    }

    [Test]
    public void AHigherSeeksCostMakesReclaimAskForFewerObjects()
    {
        var cheap = Scenario(Shrinker.DEFAULT_SEEKS);
        var dear = Scenario(64);
        TestContext.Out.WriteLine($"seeks 2: {8192 - cheap.Left} freed; seeks 64: {8192 - dear.Left} freed");
        (8192 - dear.Left).Should().BeLessThan((8192 - cheap.Left) / 4, "the share is 4 * scanned / seeks");
    }

    [Test]
    public void AShrinkerThatCannotShrinkIsLeftAloneAndSetShrinkerChecksItsArguments()
    {
        var (left, shrinker, _, _) = Scenario(Shrinker.DEFAULT_SEEKS, refuse: true);
        left.Should().Be(8192);
        shrinker.Scanned.Should().Be(0, "a batch answered with -1 is not counted");
        var k = KernelBuilder.New().Boot();
        ((Action)(() => k.Memory.SetShrinker(0, (_, _) => 0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => k.Memory.SetShrinker(2, null!))).Should().Throw<ArgumentNullException>();
    }
}
