using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Vmscan;
using Kernel.Tests.Mm;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Vmscan;

/// <summary>2.4.0's page aging design behind the replacement-policy ops table (seed 001, 2.4.0 mm/vmscan.c).</summary>
[Parallelizable(ParallelScope.All)]
public class Aging24Tests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static void Run(LinuxKernel k, UserProgram body, long maxNs = 600_000_000_000)
    {
        var t = k.Spawn("prog", body);
        k.RunUntilExit(t, maxNs).Should().BeTrue();
        if (t.ExitCode != 0)
        {
            TestContext.Out.WriteLine(string.Join("\n", k.Memory.Oom.Log));
            foreach (var z in k.Memory.Zones)
            {
                TestContext.Out.WriteLine($"{z.Name} free {z.FreePages} min {z.PagesMin} high {z.PagesHigh} active {z.NrActive} inactive {z.NrInactive} clean {z.NrInactiveClean} scanned {z.PagesScanned}");
            }
            TestContext.Out.WriteLine(k.Proc.Read("/proc/meminfo"));
        }
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    private static IEnumerable<int> List(LinuxKernel k, int head)
    {
        for (int pfn = head; pfn >= 0; pfn = k.Memory.PageAt(pfn).LruNext)
        {
            yield return pfn;
        }
    }

    private static long Word(long i) => unchecked(i * (long)0x9E3779B97F4A7C15UL) ^ 0x24;

    [Test]
    public void NewPagesStartActiveAtAgeTwoAndMemoryPressureMovesThemThroughTheThreeLists()
    {
        var k = SwapTests.BootWithSwap(memMb: 32, swapMb: 64);
        k.Proc.Write("/proc/sys/vm/page_replacement", "2.4.0").Should().Be(0);
        k.Proc.Read("/proc/sys/vm/page_replacement").Should().Be("2.4.0\n");
        var aging = (Aging24)k.Memory.Reclaim!.Ops;
        const long size = 40 * MemoryLayout.MiB;
        long pages = size / Page, bad = -1;
        int[] ages = [];
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, 16 * Page, RW, Anon);
            await self.Touch(a, 16 * Page, write: true);
            k.Memory.LruAddDrainAll();
            ages = Enumerable.Range(0, 16).Select(i => k.Memory.PageAt(self.Mm!.Translate(a + i * Page, write: false))).Select(p => p.Test(PageFlag.PG_active) ? p.Age : -1).ToArray();
            long b = await self.Mmap(0, size, RW, Anon);
            for (long i = 0; i < pages; i++)
            {
                await self.Store(b + i * Page, Word(i));
            }
            bad = 0;
            for (long i = 0; i < pages; i++)
            {
                bad += await self.Load<long>(b + i * Page) == Word(i) ? 0 : 1;
            }
            await self.Exit(0);
        });
        ages.Should().AllBeEquivalentTo(Aging24.PAGE_AGE_START, "2.4.0 puts every new page on the active list at PAGE_AGE_START");
        bad.Should().Be(0, "every page came back from swap intact");
        TestContext.Out.WriteLine($"aged {aging.AgedPages} deactivated {aging.Deactivated} laundered {aging.Laundered} writes {aging.LaunderWrites} reclaimed from inactive_clean {aging.CleanReclaimed} background rounds {aging.BackgroundRounds} swap_out PTEs {k.Memory.SwapOut24.PtesVisited}");
        k.Memory.SwapOut24.PtesVisited.Should().BePositive("only the virtual scan unmaps a page under 2.4.0");
        aging.Deactivated.Should().BePositive();
        aging.LaunderWrites.Should().BePositive("dirty swap cache pages were written by page_launder");
        aging.Laundered.Should().BePositive("written pages moved to inactive_clean");
        aging.CleanReclaimed.Should().BePositive("the allocator and kswapd took pages from inactive_clean");
        SwapTests.Vmstat(k)["pswpout"].Should().BeGreaterThan(8 * MemoryLayout.MiB / Page);
    }

    [Test]
    public void PageLaunderFreesCleanPagesBeforeWritingDirtyOnes()
    {
        // 300 dirty block-device pages written first (the oldest), then 300 clean ones read, on a
        // one-zone machine: both idle long enough to age to 0. A demand for 200 more pages than
        // are free: page_launder's first pass moves the clean pages to inactive_clean, which
        // covers the demand, so the second pass that would write the dirty ones never runs.
        // (With a zone short of pages and none of them clean, 2.4.0 does write: the shortage is per zone too.)
        long Scenario(string policy)
        {
            var k = KernelBuilder.New().Memory(16 * MemoryLayout.MiB).Hz(1000).Boot();
            k.Block.AttachDisk("sda", new RamDiskModel(), new MemoryBlockStore(16 * MemoryLayout.MiB));
            k.Proc.Write("/proc/sys/vm/page_replacement", policy).Should().Be(0);
            k.Proc.Write("/proc/sys/vm/dirty_writeback_centisecs", "0").Should().Be(0); // no kupdate
            k.Proc.Write("/proc/sys/vm/dirty_background_ratio", "60").Should().Be(0);
            k.Proc.Write("/proc/sys/vm/dirty_ratio", "80").Should().Be(0);
            var mem = k.Memory;
            long dirtyBefore = 0, cachedBefore = 0;
            Run(k, async self =>
            {
                long buf = await self.Mmap(0, 300 * Page, RW, Anon);
                await self.Touch(buf, 300 * Page, write: true);
                int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
                (await self.Pwrite(fd, buf, 300 * Page, 0)).Should().Be(300 * Page);
                (await self.Pread(fd, buf, 300 * Page, 8 * MemoryLayout.MiB)).Should().Be(300 * Page);
                (await self.Munmap(buf, 300 * Page)).Should().Be(0);
                await self.Nanosleep(400_000_000_000); // kswapd's background aging (a 64th of the active list a second) takes every age to 0
                dirtyBefore = mem.Writeback.NrFileDirty;
                cachedBefore = mem.Zones.Sum(z => z.NrInactive + z.NrActive + z.NrInactiveClean);
                long free = mem.Zones.Sum(z => z.FreePages) - mem.Zones.Sum(z => z.PagesHigh);
                long eat = free + 200;
                long e = await self.Mmap(0, eat * Page, RW, Anon);
                await self.Touch(e, eat * Page, write: true);
                await self.Exit(0);
            });
            var aging = (Aging24)mem.Reclaim!.Ops;
            TestContext.Out.WriteLine($"dirty before {dirtyBefore}, after {mem.Writeback.NrFileDirty}; LRU pages before {cachedBefore}; laundered {aging.Laundered}, writes {aging.LaunderWrites}, reclaimed from inactive_clean {aging.CleanReclaimed}");
            dirtyBefore.Should().Be(300);
            aging.CleanReclaimed.Should().BeGreaterThanOrEqualTo(100, "the demand was met from the clean pages");
            return aging.LaunderWrites + (dirtyBefore - mem.Writeback.NrFileDirty);
        }
        Scenario("2.4.0").Should().Be(0, "clean inactive pages are freed first while there are enough");
    }
}
