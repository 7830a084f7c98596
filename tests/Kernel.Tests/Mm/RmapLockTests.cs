using FluentAssertions;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>
/// i_mmap_lock and anon_vma->lock: objrmap's walk holds the object's lock for its cost, so two
/// CPUs walking one file serialise; linking and unlinking VMAs takes the same locks.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class RmapLockTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    [Test]
    public void TwoCpusWalkingOneFilesIMmapSerialiseOnItsLock()
    {
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        const int Mappers = 40;
        int pfn = -1;
        KSpinLock? lk = null;
        long acquisitionsAfterMapping = 0;
        var done = new long[2];
        k.Spawn("owner", async self =>
        {
            int fd = (int)await self.Open("/shared", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            long a = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_SHARED, fd);
            await self.Store(a, 1);
            pfn = self.Mm!.Translate(a, write: false);
            lk = k.Memory.Rmap.WalkLock(pfn);
            for (int i = 0; i < Mappers; i++)
            {
                await self.Fork(async c =>
                {
                    await c.Load<int>(a); // each child maps the page: one more VMA on i_mmap
                    await c.Nanosleep(TimeSpec.FromMilliseconds(50));
                });
            }
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            acquisitionsAfterMapping = lk!.Acquisitions;
            while ((await self.Wait4(-1, WaitOptions.None)).Pid > 0)
            {
            }
        });
        // Two walkers, one pinned to each CPU, wake on the same tick once every mapper is in and
        // walk again and again for about a millisecond: the two CPUs' walks overlap in time.
        for (int cpu = 0; cpu < 2; cpu++)
        {
            int me = cpu;
            k.Spawn("walker", async w =>
            {
                await w.Nanosleep(TimeSpec.FromMilliseconds(40));
                for (int walk = 0; walk < 1_000; walk++)
                {
                    await w.KernelCall(m =>
                    {
                        k.Memory.Rmap.PageReferenced(pfn);
                        done[me] = m.Now;
                        return ValueTask.FromResult(0L);
                    });
                    await w.Compute(100); // a little user work: both CPUs' clocks move on together
                }
            }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(me) });
        }
        k.RunUntilIdle().Should().BeTrue();

        lk.Should().NotBeNull().And.BeSameAs(k.Memory.AddressSpaceOf(k.Memory.Shmem.Names["/shared"].Mapping.Handle)!.IMmapLock);
        acquisitionsAfterMapping.Should().BeGreaterThanOrEqualTo(Mappers + 1, "every fork links its copy of the VMA under i_mmap_lock");
        lk!.Contentions.Should().BeGreaterThanOrEqualTo(1, "the second walker found the lock held by the first");
        lk.MaxSpinNs.Should().BeGreaterThan(0);
        lk.MaxHoldNs.Should().BeGreaterThanOrEqualTo((Mappers + 1) * 25, "the walk visits every VMA at 25 ns each while holding it");
        k.AssertInvariants();
    }

    [Test]
    public void ForkLinksItsCopyUnderTheAnonVmaLockAndTheWalkTakesIt()
    {
        var k = KernelBuilder.New().Boot();
        AnonVma? av = null;
        long linked = 0, walked = 0;
        k.Spawn("p", async self =>
        {
            long a = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(a, 1);
            int pfn = self.Mm!.Translate(a, write: false);
            av = k.Memory.Rmap.AnonVmaOf(k.Memory.PageAt(pfn).Mapping);
            long before = av!.Lock.Acquisitions;
            await self.Fork(async c => await c.Nanosleep(TimeSpec.FromMilliseconds(1)));
            linked = av.Lock.Acquisitions - before;
            before = av.Lock.Acquisitions;
            await self.KernelCall(m =>
            {
                k.Memory.Rmap.PageReferenced(pfn);
                return ValueTask.FromResult(0L);
            });
            walked = av.Lock.Acquisitions - before;
            await self.Wait4(-1, WaitOptions.None);
        });
        k.RunUntilIdle().Should().BeTrue();
        linked.Should().Be(1, "anon_vma_link of the child's copy");
        walked.Should().Be(1, "page_lock_anon_vma");
        k.AssertInvariants();
    }
}
