using FluentAssertions;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Vmscan;

/// <summary>2.4's swap_out scans virtual address space: it ages young PTEs and unmaps old ones as it goes.</summary>
[Parallelizable(ParallelScope.All)]
public class SwapOut24Tests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    [Test]
    public void TheFirstLapAgesYoungPtesAndTheSecondUnmapsThemWithoutAnyReverseMap()
    {
        var k = KernelBuilder.New().With(o => o with { Memory = o.Memory with { Rmap = RmapMode.None } }).Boot();
        k.Spawn("p", async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 8 * Page);
            long f = await self.Mmap(0, 8 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_SHARED, fd);
            long a = await self.Mmap(0, 4 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Touch(f, 8 * Page, write: true);
            await self.Touch(a, 4 * Page, write: true);
            await self.Pause();
        });
        k.Run(Ms.Of(10));
        var scan = k.Memory.SwapOut24;
        var mm = k.MmOf(k.Tasks.First(t => t.Comm == "p"))!;
        long fileRss = mm.FileRss, anonRss = mm.AnonRss;
        fileRss.Should().BeGreaterThanOrEqualTo(8);
        var inode = k.Memory.Shmem.Names["/f"];
        int pfn0 = inode.Mapping.FindPage(0);

        // counter = mmlist_nr << 1: the first lap over each mm ages its young PTEs (clearing the
        // bit, marking the page accessed), the second unmaps what is still old.
        int unmapped = scan.SwapOut(32);
        unmapped.Should().Be((int)fileRss, "the old file PTEs go on the second lap");
        scan.PtesVisited.Should().BeGreaterThanOrEqualTo(2 * (fileRss + anonRss));
        k.Memory.PageAt(pfn0).Test(PageFlag.PG_referenced).Should().BeTrue("mark_page_accessed on the first lap");
        mm.FileRss.Should().Be(fileRss - unmapped);
        mm.AnonRss.Should().Be(anonRss, "anonymous pages need swap: their PTEs stay");
        k.Memory.PageAt(pfn0).MapCount.Should().Be(-1);
        k.Memory.PageAt(pfn0).Test(PageFlag.PG_dirty).Should().BeTrue("the PTE's dirty bit moved to the page");
        inode.Mapping.FindPage(0).Should().Be(pfn0, "the page stays in the page cache");
        k.AssertInvariants();
    }
}
