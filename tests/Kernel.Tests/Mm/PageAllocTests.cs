using System.Runtime.CompilerServices;
using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

[Parallelizable(ParallelScope.All)]
public class PageAllocTests
{
    private static LinuxKernel Boot(long bytes, Architecture arch = Architecture.I386Pae, int cpus = 1)
    {
        var k = KernelBuilder.New().Cpus(cpus).With(o => o with { Memory = new MemoryOptions { MemoryBytes = bytes, Arch = arch } }).Boot();
        k.Machine.EnterHostContext();
        return k;
    }

    [Test]
    public void StructPageIsFortyBytes()
    {
        Unsafe.SizeOf<Page>().Should().Be(40, "mem_map must stay at or under 40 bytes per emulated page (a 64-bit pgoff_t index made it 40)");
    }

    [Test]
    public void TheOneNodeHoldsTheZonesMemMapAndZonelistsAsPgDataTDoes()
    {
        var k = Boot(1024 * MemoryLayout.MiB);
        var node = k.Memory.Node;
        node.NodeId.Should().Be(0);
        node.NodeZones.Should().BeSameAs(k.Memory.Zones);
        node.NodeMemMap.Should().BeSameAs(k.Memory.MemMap);
        node.NrZones.Should().Be(3);
        node.NodeStartPfn.Should().Be(0);
        node.NodeSpannedPages.Should().Be(262144, "1 GiB of 4 KiB frames");
        node.NodePresentPages.Should().Be(k.Memory.Zones.Sum(z => z.PresentPages)).And.BeLessThan(262144, "each zone's mem_map is not present");
        k.Memory.Zones.Should().OnlyContain(z => z.ZonePgdat == node);
        // build_zonelists: the highest allowed zone first, falling back to the lower ones.
        node.Zonelist(2).Select(z => z.Name).Should().Equal("HighMem", "Normal", "DMA");
        node.Zonelist(1).Select(z => z.Name).Should().Equal("Normal", "DMA");
        k.Memory.ZonelistFor(Gfp.GFP_HIGHUSER).Should().BeSameAs(node.Zonelist(2));
        k.Memory.ZonelistFor(Gfp.GFP_KERNEL).Should().BeSameAs(node.Zonelist(1));
    }

    [Test]
    public void I386ZonesWatermarksAndReservesFollow2620()
    {
        var k = Boot(256 * MemoryLayout.MiB);
        var mm = k.Memory;
        mm.Zones.Select(z => (z.Name, z.ZoneStartPfn, z.SpannedPages)).Should().Equal(
            ("DMA", 0L, 4096L), ("Normal", 4096L, 61440L), ("HighMem", 65536L, 0L));
        // present_pages lose each zone's mem_map: 4096 - 4096*32/4096 and 61440 - 480.
        mm.Zones.Select(z => z.PresentPages).Should().Equal(4064L, 60960L, 0L);
        mm.MinFreeKbytes.Should().Be(2039, "int_sqrt(65024 present pages * 4 kB * 16)");
        var dma = mm.Zones[0];
        var normal = mm.Zones[1];
        // pages_min 509 split by present pages: 31 and 477; low +1/4, high +1/2.
        (dma.PagesMin, dma.PagesLow, dma.PagesHigh).Should().Be((31L, 38L, 46L));
        (normal.PagesMin, normal.PagesLow, normal.PagesHigh).Should().Be((477L, 596L, 715L));
        dma.LowmemReserve.Should().Equal(0, 238, 238);
        normal.Pageset[0].Hot.High.Should().Be(90);
        normal.Pageset[0].Hot.Batch.Should().Be(15);
        normal.Pageset[0].Cold.Batch.Should().Be(7);
        dma.Pageset[0].Hot.High.Should().Be(0, "a 16 MiB zone has a batch of 0 (2^n - 1 clamp)");
        mm.ReservedPages.Should().Be((MemoryLayout.MiB + 3 * MemoryLayout.MiB + 65536L * 32 + 4095) / 4096, "a 32-byte struct page");
        mm.TotalRamPages.Should().Be(65536 - mm.ReservedPages);
        k.AssertInvariants();
    }

    [Test]
    public void SplitAndCoalesceRestoreTheBuddyLists()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        var mm = k.Memory;
        mm.DrainAllPages();
        string boot = mm.FormatBuddyinfo();
        var got = new List<(int Pfn, int Order)>();
        var rnd = new Prng(3);
        for (int i = 0; i < 2000; i++)
        {
            int order = (int)rnd.Next(0, 5);
            int pfn = mm.AllocPages(Gfp.GFP_KERNEL, order);
            pfn.Should().BeGreaterThanOrEqualTo(0);
            (pfn & ((1 << order) - 1)).Should().Be(0, "buddy blocks are naturally aligned");
            got.Add((pfn, order));
        }
        mm.FormatBuddyinfo().Should().NotBe(boot);
        k.CheckInvariants().Should().BeEmpty();
        foreach (var (pfn, order) in got.OrderBy(_ => rnd.NextUInt64()))
        {
            mm.FreePages(pfn, order);
        }
        mm.DrainAllPages();
        mm.FormatBuddyinfo().Should().Be(boot, "freeing everything coalesces back to the boot layout");
        k.AssertInvariants();
    }

    [Test]
    public void OrderZeroPagesComeFromAndReturnToThePerCpuHotList()
    {
        var k = Boot(256 * MemoryLayout.MiB, cpus: 2);
        var normal = k.Memory.Zones[1];
        var pcp = normal.Pageset[0].Hot;
        k.Memory.DrainAllPages(); // boot's own allocations left pages on the lists
        long buddyFree = normal.FreePages;
        int first = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        pcp.Count.Should().Be(14, "a refill takes a batch of 15 from the buddy lists, one is handed out");
        normal.FreePages.Should().Be(buddyFree - 15);
        normal.Pageset[1].Hot.Count.Should().Be(0, "cpu1's list is untouched");
        var pages = new List<int> { first };
        for (int i = 0; i < 200; i++)
        {
            pages.Add(k.Memory.AllocPages(Gfp.GFP_KERNEL, 0));
        }
        foreach (int p in pages)
        {
            k.Memory.FreePages(p, 0);
            pcp.Count.Should().BeLessThan(90, "at high (90) a batch of 15 goes back to the buddy lists");
        }
        pcp.Count.Should().BeGreaterThan(0, "freed pages stay on the hot list below its high mark");
        (normal.FreePages + pcp.Count).Should().Be(buddyFree, "every page is back on the buddy lists or this CPU's list");
        pcp.Count.Should().Be(75, "9 + 201 frees - 9 batches of 15 returned at the high mark");
        k.AssertInvariants();
    }

    [Test]
    public void LastFreedPageIsTheFirstReallocated()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        int a = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        int b = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        k.Memory.FreePages(a, 0);
        k.Memory.FreePages(b, 0);
        k.Memory.AllocPages(Gfp.GFP_KERNEL, 0).Should().Be(b, "the hot list is LIFO");
        k.Memory.AllocPages(Gfp.GFP_KERNEL | Gfp.__GFP_COLD, 0).Should().NotBe(a, "cold requests use the separate cold list");
    }

    [Test]
    public void GfpKernelStopsAtTheWatermarksAndGfpAtomicDigsDeeper()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        int kernel = 0, atomic = 0;
        while (k.Memory.AllocPages(Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN, 0) >= 0)
        {
            kernel++;
        }
        var normal = k.Memory.Zones[1];
        normal.FreePages.Should().BeInRange(1, normal.PagesHigh + normal.Pageset[0].Hot.Batch, "GFP_KERNEL may not go below the watermarks");
        while (k.Memory.AllocPages(Gfp.GFP_ATOMIC, 0) >= 0)
        {
            atomic++;
        }
        atomic.Should().BeGreaterThan(0, "__GFP_HIGH and ALLOC_HARDER reach into the reserves");
        k.Machine.Oopses.Should().Contain(o => o.Message == "swapper: page allocation failure. order:0, mode:0x20");
        k.Memory.AllocFailures.Should().BeGreaterThan(0);
        k.AssertInvariants();
    }

    [Test]
    public void HighmemAllocationsPreferHighmemAndLowmemRunsOutWhileHighmemIsFree()
    {
        var k = Boot(2 * MemoryLayout.GiB);
        var mm = k.Memory;
        var high = mm.ZoneByType(ZoneType.ZONE_HIGHMEM)!;
        long spanned = (2 * MemoryLayout.GiB - 896 * MemoryLayout.MiB) / 4096;
        high.PresentPages.Should().Be(spanned - spanned * 32 / 4096, "less its share of mem_map");
        int hp = mm.AllocPages(Gfp.GFP_HIGHUSER, 0);
        mm.ZoneOf(hp).Should().Be(high);
        int lowGot = 0;
        int pfn;
        while ((pfn = mm.AllocPages(Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN, 0)) >= 0)
        {
            mm.ZoneOf(pfn).IsHighmem.Should().BeFalse("GFP_KERNEL never gets highmem");
            lowGot++;
        }
        lowGot.Should().BeGreaterThan(200_000);
        high.FreePagesIncludingPcp.Should().BeGreaterThan(250_000, "lowmem ran out with highmem nearly all free");
        mm.AllocPages(Gfp.GFP_HIGHUSER, 0).Should().BeGreaterThanOrEqualTo(0);
        k.AssertInvariants();
    }

    [Test]
    public void NormalAllocationsFallBackToDmaButLeaveItsReserve()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        var mm = k.Memory;
        var dma = mm.Zones[0];
        int fromDma = 0;
        int pfn;
        while ((pfn = mm.AllocPages(Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN, 0)) >= 0)
        {
            if (mm.ZoneOf(pfn) == dma)
            {
                fromDma++;
            }
        }
        fromDma.Should().BeGreaterThan(0, "the zonelist falls back from Normal to DMA");
        dma.FreePages.Should().BeGreaterThan(dma.LowmemReserve[1], "lowmem_reserve keeps DMA pages from Normal-capable allocations");
        mm.AllocPages(Gfp.GFP_DMA, 0).Should().BeGreaterThanOrEqualTo(0, "a true DMA allocation may still use them");
        k.AssertInvariants();
    }

    [Test]
    public void Flat64LayoutHasDma32AndNoHighmem()
    {
        var k = Boot(8 * MemoryLayout.GiB, Architecture.Flat64);
        k.Memory.Zones.Select(z => z.Name).Should().Equal("DMA", "DMA32", "Normal");
        k.Memory.Zones[1].SpannedPages.Should().Be((4 * MemoryLayout.GiB - 16 * MemoryLayout.MiB) / 4096);
        int p = k.Memory.AllocPages(Gfp.GFP_HIGHUSER, 0);
        k.Memory.ZoneOf(p).Name.Should().Be("Normal", "__GFP_HIGHMEM folds to Normal without highmem");
        k.Memory.ZoneOf(k.Memory.AllocPages(Gfp.GFP_DMA32, 0)).Name.Should().Be("DMA32");
        k.Proc.Read("/proc/meminfo")!.Should().NotContain("HighTotal");
        k.AssertInvariants();
    }

    [Test]
    public void SleepingAllocationUnderASpinlockIsABug()
    {
        var k = KernelBuilder.New().Preempt(PreemptModel.Full).Boot();
        var l = new KSpinLock("l");
        k.Spawn("t", async self => await self.KernelCall(async m =>
        {
            await l.Lock(m);
            k.Memory.AllocPages(Gfp.GFP_ATOMIC, 0).Should().BeGreaterThanOrEqualTo(0);
            k.Machine.Oopses.Should().BeEmpty("GFP_ATOMIC never sleeps");
            int p = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
            await l.Unlock(m);
            k.Memory.FreePages(p, 0);
            return 0;
        }));
        k.RunUntilIdle();
        k.Machine.Oopses.Should().ContainSingle().Which.Message.Should().StartWith("BUG: sleeping function called from invalid context at mm/page_alloc.c");
    }

    [Test]
    public void DoubleFreeIsABadPageState()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        int p = k.Memory.AllocPages(Gfp.GFP_KERNEL, 2);
        k.Memory.FreePages(p, 2);
        ((Action)(() => k.Memory.FreePages(p, 2))).Should().Throw<KernelBug>();
    }

    [Test]
    public void PageContentsAreRealBytesAllocatedOnFirstWrite()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        int p = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        int before = k.Memory.PagesWithContents; // page tables of init already hold bytes
        k.Memory.ReadPage(p)[100].Should().Be(0);
        k.Memory.PagesWithContents.Should().Be(before, "reading an unwritten frame allocates nothing");
        k.Memory.WritePage(p)[100] = 42;
        k.Memory.ReadPage(p)[100].Should().Be(42);
        k.Memory.PagesWithContents.Should().Be(before + 1);
        k.Memory.FreePages(p, 0);
        k.Memory.PagesWithContents.Should().Be(before, "a freed frame gives its buffer back");
    }

    [Test]
    public void ARecycledBufferReadsAsZerosWhereverItWasWrittenBefore()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        int p = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        k.Memory.WritePage(p, 100, 8).Fill(0xAA);
        k.Memory.WritePage(p, 4000, 96).Fill(0xBB); // widens the written extent to [100, 4096)
        k.Memory.ReadPage(p)[4095].Should().Be(0xBB);
        k.Memory.FreePages(p, 0);

        // The freed buffer is reused by the next frame written: nothing of the old bytes shows.
        int q = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        k.Memory.WritePage(q, 0, 1)[0] = 1;
        k.Memory.ReadPage(q).ToArray().Skip(1).Should().OnlyContain(b => b == 0);
        var view = k.Memory.WritePage(q, 4000, 96);
        view.Length.Should().Be(96);
        ((Action)(() => k.Memory.WritePage(q, 4000, 97))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => k.Memory.WritePage(q, -1, 4))).Should().Throw<ArgumentOutOfRangeException>();
        k.Memory.FreePages(q, 0);
    }

    [Test]
    public void ProcMemoryViewsUse2620Formats()
    {
        var k = Boot(2 * MemoryLayout.GiB, cpus: 2);
        long before = k.Memory.Zones[1].PgAlloc;
        k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        var buddy = k.Proc.Read("/proc/buddyinfo")!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        buddy.Should().HaveCount(3);
        buddy[0].Should().MatchRegex(@"^Node 0, zone      DMA( +\d+){11} $");
        buddy[2].Should().StartWith("Node 0, zone  HighMem ");
        var zoneinfo = k.Proc.Read("/proc/zoneinfo")!;
        zoneinfo.Should().Contain("Node 0, zone   Normal\n  pages free     ");
        zoneinfo.Should().Contain("\n    cpu: 0 pcp: 0\n              count: ");
        zoneinfo.Should().Contain("        protection: (0, ");
        var meminfo = k.Proc.Read("/proc/meminfo")!;
        meminfo.Should().MatchRegex(@"^MemTotal: +\d+ kB\nMemFree: +\d+ kB\n");
        meminfo.Should().Contain("HighTotal:").And.Contain("LowFree:");
        long memTotal = long.Parse(meminfo.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        memTotal.Should().Be(k.Memory.TotalRamPages * 4);
        k.Proc.Read("/proc/vmstat")!.Should().Contain($"pgalloc_normal {before + 1}\n");
    }

    [Test]
    public void ThirtyTwoGibMachineBootsWithMemMapInLowmem()
    {
        var k = Boot(32 * MemoryLayout.GiB);
        k.Memory.TotalPages.Should().Be(8L * 1024 * 1024);
        (k.Memory.ReservedPages * 4096).Should().BeGreaterThan(8L * 1024 * 1024 * 32, "mem_map itself (256 MiB of 32-byte pages) is carved out of lowmem")
            .And.BeLessThan(8L * 1024 * 1024 * 32 + 5 * MemoryLayout.MiB);
        k.Memory.ZoneByType(ZoneType.ZONE_HIGHMEM)!.FreePages.Should().BeGreaterThan(7_000_000);
    }
    [Test]
    public void FreeingAFreePageIsAKernelBug()
    {
        var k = Boot(64 * MemoryLayout.MiB);
        int pfn = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
        k.Memory.FreePages(pfn, 0);
        var act = () => k.Memory.FreePages(pfn, 0);
        act.Should().Throw<Kernel.Core.KernelBug>().WithMessage($"__free_pages: pfn {pfn} has count 0");
    }
    [Test]
    public void TheBuddyAllocatorWorksWithoutAKernel()
    {
        // Memory on a bare machine: no init, no process layer, no syscalls.
        var mm = Subsystems.MemoryAlone(32 * MemoryLayout.MiB);
        long free = mm.Zones.Sum(z => z.FreePages);
        int block = mm.AllocPages(Gfp.GFP_KERNEL, 4);
        block.Should().BeGreaterThanOrEqualTo(0);
        (block & 15).Should().Be(0, "an order-4 block is 16-page aligned");
        mm.Zones.Sum(z => z.FreePages).Should().Be(free - 16);
        mm.FreePages(block, 4);
        mm.Zones.Sum(z => z.FreePages).Should().Be(free);
        mm.CheckInvariants().Should().BeEmpty();
        mm.Machine.ProcFiles.Read("/proc/buddyinfo").Should().StartWith("Node 0, zone      DMA");
    }
}
