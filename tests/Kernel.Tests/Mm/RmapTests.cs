using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Mm.Shmem;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

[Parallelizable(ParallelScope.All)]
public class RmapTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int FilePages = 16;

    /// <summary>
    /// `procs` processes each map the same shared tmpfs file and read every page; each also
    /// writes one private page it inherited (copy-on-write). Returns the kernel, paused.
    /// </summary>
    private static LinuxKernel SharedFileScenario(RmapMode mode, int procs, int? l1 = null)
    {
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { MemoryBytes = 512 * MemoryLayout.MiB, Rmap = mode, L1CacheBytesOverride = l1 } }).Boot();
        k.Spawn("parent", async self =>
        {
            int fd = (int)await self.Open("/shared", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, FilePages * Page);
            long priv = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(priv, 1);
            await self.Store(priv + Page, 2);
            for (int i = 0; i < procs; i++)
            {
                await self.Fork(async c =>
                {
                    long a = await c.Mmap(0, FilePages * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
                    await c.Touch(a, FilePages * Page, write: false);
                    await c.Store(priv + Page, 3); // breaks COW on the second page only
                    await c.Pause();
                });
            }
            await self.Pause();
        });
        k.Run(Ms.Of(2000));
        k.CheckInvariants().Should().BeEmpty();
        return k;
    }

    private static HashSet<(int Pid, long Addr)> Owners(LinuxKernel k, int pfn) =>
        k.RmapQuery(pfn).Ptes.Select(p => (p.Task!.Pid, p.Addr)).ToHashSet();

    [Test]
    public void EveryModeFindsExactlyTheSamePtesForEveryPage()
    {
        var kernels = new[] { RmapMode.ObjRmap, RmapMode.PteChain, RmapMode.None }.Select(m => SharedFileScenario(m, 150)).ToArray();
        var file = kernels[0].Memory.Shmem.Names["/shared"].Mapping;
        file.NrPages.Should().Be(FilePages);
        foreach (var (index, pfn) in file.PageTree)
        {
            var expected = Owners(kernels[0], pfn);
            expected.Should().HaveCount(150, $"page {index} is mapped once by every child");
            Owners(kernels[1], kernels[1].Memory.Shmem.Names["/shared"].Mapping.PageTree[index]).Should().BeEquivalentTo(expected);
            Owners(kernels[2], kernels[2].Memory.Shmem.Names["/shared"].Mapping.PageTree[index]).Should().BeEquivalentTo(expected);
        }
        // The parent's first private page was never written after fork: parent and 150 children map it.
        foreach (var k in kernels)
        {
            var mm = k.MmOf(k.Tasks.First(t => t.Comm == "parent"))!;
            var anon = mm.Vmas.InOrder().First(v => v.File is null && v.Kind == VmaKind.Anonymous);
            int pfn = mm.Translate(anon.VmStart, write: false);
            Owners(k, pfn).Should().HaveCount(151, $"{k.Memory.Rmap.Mode}: a COW page is shared by the whole family");
        }
    }

    [Test]
    public void PteChainSlabGrowsWithMappingsWhileObjrmapDoesNot()
    {
        long ChainBlocks(RmapMode mode, int procs) => SharedFileScenario(mode, procs).Memory.Rmap.PteChainCachep.InUseObjs;
        long small = ChainBlocks(RmapMode.PteChain, 40);
        long big = ChainBlocks(RmapMode.PteChain, 160);
        TestContext.Out.WriteLine($"pte_chain blocks (128 bytes each): 40 processes {small}, 160 processes {big}");
        // 41 and 161 mappers (parent and children) of 16 file pages and the family's shared COW
        // page, NRPTE = (128 - 4) / 4 = 31 addresses per block: 17*ceil(41/31) and 17*ceil(161/31).
        small.Should().Be(17 * 2);
        big.Should().Be(17 * 6, "chains grow with the number of mappings");
        var k32 = SharedFileScenario(RmapMode.PteChain, 40, l1: 32);
        k32.Memory.Rmap.Nrpte.Should().Be(7, "(32 - 4) / 4 on a 32-byte-line i386");
        k32.Memory.Rmap.PteChainCachep.InUseObjs.Should().Be(17 * 6, "ceil(41/7) blocks per page");
        ChainBlocks(RmapMode.ObjRmap, 160).Should().Be(0, "objrmap keeps no per-mapping structure");
        var obj = SharedFileScenario(RmapMode.ObjRmap, 160);
        obj.Memory.Rmap.AnonVmaCachep.InUseObjs.Should().BeLessThan(200, "one anon_vma per family of anonymous areas, not per mapping");
    }

    [Test]
    public void FindingMappingsCostsMostWithoutRmap()
    {
        var results = new Dictionary<RmapMode, long>();
        foreach (var mode in new[] { RmapMode.ObjRmap, RmapMode.PteChain, RmapMode.None })
        {
            var k = SharedFileScenario(mode, 50);
            int pfn = k.Memory.Shmem.Names["/shared"].Mapping.PageTree[0];
            var (ptes, visited, cost) = k.RmapQuery(pfn);
            ptes.Should().HaveCount(50);
            cost.Should().Be(visited * k.Options.Memory.Costs.RmapPteNs);
            results[mode] = visited;
        }
        TestContext.Out.WriteLine($"PTEs visited to find 50 mappings: objrmap {results[RmapMode.ObjRmap]}, pte_chain {results[RmapMode.PteChain]}, none {results[RmapMode.None]}");
        results[RmapMode.ObjRmap].Should().Be(50, "one probe per VMA in i_mmap");
        results[RmapMode.PteChain].Should().Be(50, "one entry per mapping");
        results[RmapMode.None].Should().BeGreaterThan(50 * FilePages, "2.4 scans every mapped PTE of every process");
    }

    [TestCase(RmapMode.ObjRmap)]
    [TestCase(RmapMode.PteChain)]
    [TestCase(RmapMode.None)]
    public void MixedWorkloadKeepsTheReverseMapConsistent(RmapMode mode)
    {
        var k = KernelBuilder.New().Cpus(2).With(o => o with { Memory = new MemoryOptions { Rmap = mode } }).Boot();
        for (int n = 0; n < 3; n++)
        {
            k.Spawn("mixer", async self =>
            {
                long a = await self.Mmap(0, 32 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await self.Touch(a, 32 * Page, write: true);
                for (int i = 0; i < 4; i++)
                {
                    long child = await self.Fork(async c =>
                    {
                        await c.Touch(a, 8 * Page, write: true);
                        await c.Mprotect(a + 8 * Page, 4 * Page, Prot.PROT_READ);
                        long moved = await c.Mremap(a + 16 * Page, 8 * Page, 16 * Page, MremapFlags.MREMAP_MAYMOVE);
                        await c.Touch(moved, 16 * Page, write: true);
                        await c.Munmap(a, 4 * Page);
                        await c.Nanosleep(Ms.Of(3));
                    });
                    await self.Madvise(a + 28 * Page, 4 * Page, Madv.MADV_DONTNEED);
                    await self.Wait4((int)child);
                }
                await self.Munmap(a, 32 * Page);
            });
        }
        k.RunUntilIdle().Should().BeTrue();
        k.AssertInvariants();
        k.Memory.Rmap.ChainedPages.Should().Be(0, "every chain went away with its mappings");
    }

    [TestCase(RmapMode.ObjRmap)]
    [TestCase(RmapMode.PteChain)]
    [TestCase(RmapMode.None)]
    public void PageReferencedTryToUnmapAndPageMkcleanWorkInEveryMode(RmapMode mode)
    {
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { Rmap = mode } }).Boot();
        long addr = 0;
        int writes = 0;
        k.Spawn("parent", async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            addr = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, fd);
            self.Signal(Signals.SIGUSR1, _ => { });
            await self.Store(addr, 1);
            for (int i = 0; i < 2; i++)
            {
                await self.Fork(async c =>
                {
                    await c.Load<int>(addr);
                    await c.Pause();
                });
            }
            await self.Nanosleep(Ms.Of(10));
            await self.Pause();
            await self.Store(addr, 2); // unmapped and cleaned: this write faults the page back in, dirty
            writes++;
            await self.Pause();
        });
        k.Run(Ms.Of(20));
        var mm = k.Memory;
        var rmap = mm.Rmap;
        int pfn = mm.Shmem.Names["/f"].Mapping.PageTree[0];
        rmap.PageReferenced(pfn).Should().Be(4, "three processes touched it, and shmem_nopage marked it accessed (PG_referenced)");
        rmap.PageReferenced(pfn).Should().Be(0, "the accessed bits were cleared");
        rmap.PageMkclean(pfn).Should().BeTrue("the parent's shared PTE was dirty");
        rmap.PageMkclean(pfn).Should().BeFalse();
        var parent = k.Tasks.First(t => t.Comm == "parent");
        k.MmOf(parent)!.Translate(addr, write: true).Should().Be(-1, "clean shared PTEs are write-protected");
        rmap.TryToUnmap(pfn).Should().Be(UnmapResult.SWAP_SUCCESS);
        mm.PageAt(pfn).MapCount.Should().Be(-1);
        mm.Shmem.Names["/f"].Mapping.FindPage(0).Should().Be(pfn, "unmapping leaves the page in the page cache");
        k.CheckInvariants().Should().BeEmpty();
        mm.PageAt(pfn).Clear(PageFlag.PG_dirty); // as writeback would after page_mkclean
        k.SendSignal(parent, Signals.SIGUSR1);
        k.Run(Ms.Of(5));
        writes.Should().Be(1);
        mm.PageAt(pfn).Test(PageFlag.PG_dirty).Should().BeTrue("the shared write fault dirtied the page again");
        rmap.FindPtes(pfn).Ptes.Should().HaveCount(1, "only the parent has mapped it again");
        k.AssertInvariants();
    }

    [Test]
    public void AnonymousPagesCannotBeUnmappedWithoutSwap()
    {
        var k = KernelBuilder.New().Boot();
        int pfn = -1;
        k.Spawn("t", async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(a, 1);
            pfn = self.Mm!.Translate(a, false);
            await self.Pause();
        });
        k.Run(Ms.Of(5));
        k.Memory.Rmap.TryToUnmap(pfn).Should().Be(UnmapResult.SWAP_FAIL);
        k.Memory.PageAt(pfn).PageMapcount.Should().Be(1);
    }
    [TestCase(RmapMode.ObjRmap)]
    [TestCase(RmapMode.PteChain)]
    [TestCase(RmapMode.None)]
    public void TryToUnmapKeepsAPageReferencedSinceTheLastLookAndClearsTheYoungBit(RmapMode mode)
    {
        // try_to_unmap_one: ptep_clear_flush_young says "recently used": SWAP_FAIL, reactivate.
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { Rmap = mode } }).Boot();
        long addr = 0;
        k.Spawn("p", async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            addr = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Load<int>(addr);
            await self.Pause();
        });
        k.Run(Ms.Of(10));
        int pfn = k.Memory.Shmem.Names["/f"].Mapping.PageTree[0];
        k.Memory.Rmap.TryToUnmap(pfn).Should().Be(UnmapResult.SWAP_FAIL, "the PTE is young");
        k.Memory.PageAt(pfn).MapCount.Should().Be(0, "still mapped once");
        k.Memory.Rmap.TryToUnmap(pfn).Should().Be(UnmapResult.SWAP_SUCCESS, "the failed attempt cleared the young bit");
        k.Memory.PageAt(pfn).MapCount.Should().Be(-1);
        k.AssertInvariants();
    }

    [Test]
    public void AnMlockedSharedMappingCountsAsAReference()
    {
        // page_referenced_file: VM_LOCKED|VM_MAYSHARE is a reference whatever the young bits say.
        var k = KernelBuilder.New().Boot();
        k.Spawn("p", async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Load<int>(a);
            (await self.Mlock(a, Page)).Should().Be(0);
            await self.Pause();
        });
        k.Run(Ms.Of(10));
        int pfn = k.Memory.Shmem.Names["/f"].Mapping.PageTree[0];
        k.Memory.Rmap.PageReferenced(pfn).Should().Be(2, "PG_referenced from the fault, then the mlocked mapping");
        k.Memory.Rmap.PageReferenced(pfn).Should().Be(1, "PG_referenced and the young bit are gone but the lock remains");
        k.Memory.Rmap.TryToUnmap(pfn).Should().Be(UnmapResult.SWAP_FAIL, "mlocked");
        k.AssertInvariants();
    }
}
