using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>Kernel time grows with the work done: PTEs copied and zapped, bytes copied, rmap entries walked.</summary>
[Parallelizable(ParallelScope.All)]
public class CostScalingTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    /// <summary>CPU time the calling task spends in `op` (its kernel time is paid before Compute(0) returns).</summary>
    private static async ValueTask<long> CostOf(UserTask self, Func<ValueTask> op)
    {
        await self.Compute(0);
        long before = self.TaskStruct.SumExecRuntimeNs;
        await op();
        await self.Compute(0);
        return self.TaskStruct.SumExecRuntimeNs - before;
    }

    private static long ForkCost(long touchedBytes)
    {
        var k = KernelBuilder.New().Boot();
        long cost = 0;
        k.Spawn("parent", async self =>
        {
            long a = await self.Mmap(0, touchedBytes, RW, Anon);
            await self.Touch(a, touchedBytes, write: true);
            cost = await CostOf(self, async () => await self.Fork(async c => await c.Pause()));
            await self.Kill(0, Signals.SIGKILL);
        });
        k.RunUntilIdle();
        k.AssertInvariants();
        return cost;
    }

    [Test]
    public void ForkCostGrowsWithThePtesItCopies()
    {
        long small = ForkCost(1L << 20), big = ForkCost(16L << 20);
        long ptes = (16 - 1) * 256;
        var c = MmCosts.Default;
        (big - small).Should().BeGreaterThanOrEqualTo(ptes * (c.PteCopyNs + c.RmapUpdateNs), "copy_one_pte and page_dup_rmap per PTE");
        (big - small).Should().BeLessThan(ptes * (c.PteCopyNs + c.RmapUpdateNs) * 2);
    }

    [Test]
    public void MunmapCostGrowsWithThePtesItZaps()
    {
        long small = 0, big = 0;
        var k = KernelBuilder.New().Boot();
        k.Spawn("p", async self =>
        {
            foreach (long bytes in new[] { 1L << 20, 16L << 20 })
            {
                long a = await self.Mmap(0, bytes, RW, Anon);
                await self.Touch(a, bytes, write: true);
                long cost = await CostOf(self, async () => await self.Munmap(a, bytes));
                if (bytes == 1L << 20)
                {
                    small = cost;
                }
                else
                {
                    big = cost;
                }
            }
        });
        k.RunUntilIdle();
        k.AssertInvariants();
        var c = MmCosts.Default;
        (big - small).Should().BeGreaterThanOrEqualTo(15 * 256 * (c.PteZapNs + c.RmapUpdateNs));
    }

    [Test]
    public void ReadCostGrowsWithTheBytesCopied()
    {
        long small = 0, big = 0;
        var k = KernelBuilder.New().Boot();
        k.Spawn("p", async self =>
        {
            int fd = (int)await self.Open("/f", Kernel.Mm.Filemap.OpenFlags.O_CREAT | Kernel.Mm.Filemap.OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 64 * 1024);
            long buf = await self.Mmap(0, 64 * 1024, RW, Anon);
            await self.Touch(buf, 64 * 1024, write: true);
            small = await CostOf(self, async () => await self.Read(fd, buf, 1024));
            await self.Lseek(fd, 0, UserTask.SEEK_SET);
            big = await CostOf(self, async () => await self.Read(fd, buf, 64 * 1024));
        });
        k.RunUntilIdle();
        k.AssertInvariants();
        (big - small).Should().Be(63 * MmCosts.Default.CopyUserPerKbNs, "copy_to_user per KiB, holes included");
    }

    [Test]
    public void AReverseMapWalkIsChargedToTheCpuThatRunsIt()
    {
        long walkCost = 0, visited = 0;
        var k = KernelBuilder.New().Boot();
        k.Spawn("p", async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Store(a, 1);
            for (int i = 0; i < 20; i++)
            {
                await self.Fork(async c => await c.Pause());
            }
            int pfn = self.Mm!.Translate(a, write: false);
            visited = self.Kernel.Memory.Rmap.FindPtes(pfn).PtesVisited;
            walkCost = await CostOf(self, async () => await self.KernelCall(m =>
            {
                self.Kernel.Memory.Rmap.PageReferenced(pfn);
                return ValueTask.FromResult(0L);
            }));
            await self.Kill(0, Signals.SIGKILL);
        });
        k.RunUntilIdle();
        k.AssertInvariants();
        visited.Should().Be(21);
        walkCost.Should().Be(k.Machine.Costs.SyscallNs + visited * MmCosts.Default.RmapPteNs);
    }

    [TestCase(RmapMode.ObjRmap, 0)]
    [TestCase(RmapMode.PteChain, 256)]
    public void ForkLeavesSharedAreasToFaultUnderObjrmap(RmapMode mode, long childFileRss)
    {
        // copy_page_range skips a VMA without an anon_vma in 2.6.20; 2.6.0 copied every PTE, and a
        // copied shared PTE starts clean in the child.
        var k = KernelBuilder.New().With(o => o with { Memory = o.Memory with { Rmap = mode } }).Boot();
        long rss = -1, childFaults = -1;
        ulong childDirty = 1, parentDirty = 0;
        k.Spawn("parent", async self =>
        {
            long a = await self.Mmap(0, 1L << 20, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            await self.Touch(a, 1L << 20, write: true);
            parentDirty = self.Mm!.GetPte(a) & Paging._PAGE_DIRTY;
            long child = await self.Fork(async c =>
            {
                rss = c.Mm!.FileRss;
                childDirty = c.Mm.GetPte(a) & Paging._PAGE_DIRTY;
                long before = c.TaskStruct.MinFlt;
                await c.Touch(a, 1L << 20, write: false);
                childFaults = c.TaskStruct.MinFlt - before;
            });
            await self.Wait4((int)child);
        });
        k.RunUntilIdle();
        k.AssertInvariants();
        rss.Should().Be(childFileRss);
        childFaults.Should().Be(256 - childFileRss, "what fork did not copy is faulted in");
        parentDirty.Should().NotBe(0UL);
        childDirty.Should().Be(0UL, "the child's shared PTEs are clean or absent");
    }
}
