using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Slab;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

[Parallelizable(ParallelScope.All)]
public class SlabTests
{
    private static LinuxKernel Boot(long bytes = 256 * MemoryLayout.MiB) => KernelBuilder.New().Memory(bytes).BootForHostCalls();

    [TestCase(88, SlabFlags.None, 88, 44, 1)]        // vm_area_struct on 2.6.20 i386
    [TestCase(1312, SlabFlags.SLAB_HWCACHE_ALIGN, 1312, 3, 1)] // task_struct
    [TestCase(4096, SlabFlags.None, 4096, 1, 1)]      // a page-table-sized object, off-slab
    [TestCase(32, SlabFlags.None, 32, 113, 1)]
    public void CacheEstimateMatchesSlabinfoOf2620(int size, SlabFlags flags, int objsize, int perSlab, int pagesPerSlab)
    {
        var k = Boot();
        var c = k.Memory.KmemCacheCreate($"test{size}", size, flags);
        c.BufferSize.Should().Be(objsize);
        c.Num.Should().Be(perSlab);
        (1 << c.GfpOrder).Should().Be(pagesPerSlab);
    }

    [Test]
    public void ObjectsComeFromLowmemSlabPagesAndGoBackOnShrink()
    {
        var k = Boot(2 * MemoryLayout.GiB);
        var c = k.Memory.KmemCacheCreate("test_vma", 88);
        var objs = new List<SlabObject>();
        for (int i = 0; i < 1000; i++)
        {
            var o = c.Alloc(Gfp.GFP_KERNEL);
            o.IsNone.Should().BeFalse();
            k.Memory.ZoneOf(o.SlabPfn).IsHighmem.Should().BeFalse("slab pages are lowmem");
            k.Memory.PageAt(o.SlabPfn).Test(PageFlag.PG_slab).Should().BeTrue();
            objs.Add(o);
        }
        objs.Distinct().Should().HaveCount(1000);
        c.NumSlabs.Should().BeGreaterThanOrEqualTo(1000 / 44);
        long slabKb = long.Parse(k.Proc.Read("/proc/meminfo")!.Split('\n').First(l => l.StartsWith("Slab:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        slabKb.Should().Be(k.Memory.SlabPages * 4);
        foreach (var o in objs)
        {
            c.Free(o);
        }
        c.Shrink();
        c.NumSlabs.Should().Be(0);
        c.ActiveObjs.Should().Be(0);
        k.AssertInvariants();
    }

    [Test]
    public void FreeingAForeignObjectIsAKernelBug()
    {
        var k = Boot();
        var a = k.Memory.KmemCacheCreate("a", 64);
        var b = k.Memory.KmemCacheCreate("b", 64);
        var o = a.Alloc(Gfp.GFP_KERNEL);
        ((Action)(() => b.Free(o))).Should().Throw<KernelBug>();
    }

    [Test]
    public void EveryTaskCostsATaskStructAndAnEightKibStack()
    {
        var k = Boot();
        long free0 = k.Memory.Zones.Sum(z => z.FreePagesIncludingPcp);
        long objs0 = k.TaskStructCachep.InUseObjs;
        k.Spawn("parent", async self =>
        {
            for (int i = 0; i < 50; i++)
            {
                await self.Fork(async c => await c.Nanosleep(Ms.Of(100)));
            }
            await self.Nanosleep(Ms.Of(50));
            for (int i = 0; i < 50; i++)
            {
                await self.Wait4(-1);
            }
        });
        k.Run(Ms.Of(60));
        long used = free0 - k.Memory.Zones.Sum(z => z.FreePagesIncludingPcp);
        used.Should().BeGreaterThanOrEqualTo(51 * 2, "51 new tasks each hold an order-1 kernel stack");
        k.Proc.Read("/proc/slabinfo")!.Should().MatchRegex(@"\ntask_struct +\d+ +\d+ +1312 +3 +1 : tunables +24 +12 +0 : slabdata");
        k.RunUntilIdle().Should().BeTrue();
        k.TaskStructCachep.InUseObjs.Should().Be(objs0, "reaped tasks return their task_structs");
        k.AssertInvariants();
    }

    [TestCase(0, 256)]      // root: only max_threads = 4096 pages / 16 stops it
    [TestCase(1000, 128)]   // a user: RLIMIT_NPROC = max_threads / 2
    public void AForkBombGetsEagainAtTheThreadLimitsLongBeforeMemoryRunsOut(int uid, int limit)
    {
        var k = Boot(16 * MemoryLayout.MiB);
        k.MaxThreads.Should().Be(256, "fork_init: mempages / (8 * THREAD_SIZE / PAGE_SIZE)");
        k.RlimitNproc.Should().Be(128);
        long firstError = 0;
        int threadsAtFailure = 0, mine = 0;
        k.Spawn("forkbomb", async self =>
        {
            while (true)
            {
                long r = await self.Fork(async c => await c.Pause());
                if (r < 0)
                {
                    firstError = r;
                    threadsAtFailure = self.Kernel.TaskCount;
                    mine = self.Kernel.Tasks.Count(t => t.Uid == uid && !t.IsKernelThread);
                    break;
                }
            }
            await self.Kill(0, Signals.SIGKILL);
        }, new LinuxKernel.SpawnOptions { Uid = uid });
        k.RunUntilIdle().Should().BeTrue();
        firstError.Should().Be(Errno.EAGAIN.Ret());
        (uid == 0 ? threadsAtFailure : mine).Should().Be(limit);
        k.Machine.Oopses.Should().BeEmpty("no allocation failed");
        k.AssertInvariants();
    }

    [Test]
    public void ForkFailsWithEnomemWhenLowmemIsExhaustedAndTheKernelSurvives()
    {
        var k = Boot(16 * MemoryLayout.MiB);
        k.Proc.Write("/proc/sys/kernel/threads-max", "100000").Should().Be(0, "memory must run out first");
        k.Proc.Write("/proc/sys/vm/overcommit_memory", "1").Should().Be(0, "and not the commit charge of the children's address spaces");
        long forked = 0, firstError = 0;
        k.Spawn("forkbomb", async self =>
        {
            while (true)
            {
                long r = await self.Fork(async c => await c.Pause());
                if (r < 0)
                {
                    firstError = r;
                    break;
                }
                forked++;
            }
            await self.Kill(0, Signals.SIGKILL);
        });
        k.RunUntilIdle().Should().BeTrue();
        firstError.Should().Be(Errno.ENOMEM.Ret());
        // ~11.9 MiB free after boot, ~14 KiB per task (8 KiB kernel stack, a 4 KiB page directory,
        // task_struct, mm_struct, three VMAs), less the watermarks.
        forked.Should().BeInRange(780, 880);
        k.Machine.Oopses.Should().Contain(o => o.Message.StartsWith("forkbomb: page allocation failure. order:1"), "the failed kernel-stack allocation warns as Linux does");
        k.TaskCount.Should().Be(2 + k.Machine.Cpus.Length);
        k.AssertInvariants();
    }
}
