using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Process;
using Kernel.Sched;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Scenarios;

/// <summary>
/// The findings of the random-syscall review (issue 11), one minimal reproduction each: what used
/// to panic, hang or corrupt the kernel, and the answers that used to be wrong. Every test ends
/// with the invariant checker.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class SyscallFindingsTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static LinuxKernel RunOk(UserProgram body, KernelBuilder? b = null)
    {
        var k = (b ?? KernelBuilder.New()).Boot();
        var t = k.Spawn("prog", body);
        k.RunUntilIdle().Should().BeTrue("the kernel must go idle");
        t.ExitCode.Should().Be(0, "the program finishes normally");
        k.AssertInvariants();
        return k;
    }

    // ------------------------------------------------------------------ 1-3: init and reparenting

    [Test]
    public void F01_KillingInitWithAnUnhandledSignalIsIgnored()
    {
        long r = -1, r0 = -1;
        var k = RunOk(async self =>
        {
            r = await self.Kill(1, Signals.SIGTERM);
            self.Setpgid(0, 1).Should().Be(0);
            self.SignalIgnore(Signals.SIGHUP); // kill(0) signals the caller too
            r0 = await self.Kill(0, Signals.SIGHUP); // the group now includes init
        });
        r.Should().Be(0, "kill(1, SIGTERM) succeeds; init just does not get the signal");
        r0.Should().Be(0);
        k.Init.ExitState.Should().Be(0, "init lives");
    }

    [Test]
    public void F02_CloneParentWithAnOddExitSignalReachesInitAsSigchld()
    {
        var k = RunOk(async self =>
        {
            long child = await self.Clone(CloneFlags.CLONE_PARENT | (CloneFlags)Signals.SIGUSR1, async c => await c.Exit(0));
            child.Should().BeGreaterThan(0);
            await self.Nanosleep(Ms.Of(5));
        });
        k.Init.ExitState.Should().Be(0);
        k.Tasks.Should().OnlyContain(t => t.ExitState == 0, "init reaped the CLONE_PARENT child");
    }

    [Test]
    public void F03_AnOrphanWithExitSignalZeroIsReapedByInit()
    {
        var k = RunOk(async self =>
        {
            await self.Fork(async mid =>
            {
                await mid.Clone((CloneFlags)0, async c =>
                {
                    await c.Nanosleep(Ms.Of(10)); // outlives its parent
                    await c.Exit(0);
                });
                await mid.Exit(0); // the grandchild is orphaned with exit_signal 0
            });
            await self.Wait4(-1);
        });
        k.RunUntilIdle().Should().BeTrue();
        k.Tasks.Where(t => t.Comm != "init" && !t.IsKernelThread).Should().BeEmpty("no zombie is left holding its pid");
    }

    // ------------------------------------------------------------------ 4-5: rmap addresses

    [Test]
    public void F04_PteChainRecordsThePageNotTheUnalignedFaultAddress()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, Anon);
            await self.Store(a + 8, 1);
            await self.Store(a + Page + 12, 2);
            (await self.Munmap(a, 2 * Page)).Should().Be(0);
        }, KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { Rmap = RmapMode.PteChain } }));
    }

    [Test]
    public void F05_AnonymousPagesHighInTheX8664AddressSpaceKeepTheirReverseMap()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0x7ffff7ffe000, Page, RW, Anon | MapFlags.MAP_FIXED);
            a.Should().Be(0x7ffff7ffe000);
            await self.Store(a, 5);
            await self.Fork(async c => (await c.Load<int>(a)).Should().Be(5));
            await self.Wait4(-1);
            int pfn = self.Mm!.Translate(a, write: false);
            self.Kernel.RmapQuery(pfn).Ptes.Should().HaveCount(1);
        }, KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { Arch = Architecture.Flat64 } }));
    }

    // ------------------------------------------------------------------ 6-7: brk and mremap

    [Test]
    public void F06_BrkBeyondTaskSizeReturnsTheOldBreak()
    {
        RunOk(async self =>
        {
            long cur = await self.Brk(0);
            (await self.Brk(long.MaxValue)).Should().Be(cur);
            (await self.Brk(-4096)).Should().Be(cur);
            long a = await self.Mmap(0, Page, RW, Anon);
            (await self.Brk(a + Page)).Should().Be(cur, "brk into another mapping fails");
        });
    }

    [Test]
    public void F07_MremapWithNegativeLengthsFailsAndUnmapsNothing()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0, 3 * Page, RW, Anon);
            await self.Store(a, 1);
            await self.Store(a + Page, 2);
            (await self.Mremap(a + Page, Page, -Page, 0)).Should().Be(Errno.ENOMEM.Ret(), "a huge unsigned new length: 2.6.20 ends in the accounting or vma_expandable check");
            (await self.Mremap(a + Page, -Page, Page, 0)).Should().Be(Errno.EINVAL.Ret());
            (await self.Mremap(a, Page, -2 * Page, MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED, a + 0x100000)).Should().Be(Errno.EINVAL.Ret());
            (await self.Load<int>(a)).Should().Be(1, "nothing was unmapped");
            (await self.Load<int>(a + Page)).Should().Be(2);
        });
    }

    // ------------------------------------------------------------------ 8-9: affinity

    [Test]
    public void F08_SetaffinityUnderTheGoodnessSchedulerMigratesAndReturns()
    {
        int cpuAfter = -1;
        RunOk(async self =>
        {
            (await self.SchedSetaffinity(0, CpuMask.Of(1))).Should().Be(0);
            await self.Compute(Ms.Of(1));
            cpuAfter = self.CurrentCpu;
        }, KernelBuilder.New().Cpus(2).Scheduler(SchedulerKind.Goodness24));
        cpuAfter.Should().Be(1);
    }

    [Test]
    public void F09_MovingAMigrationThreadIsRefused()
    {
        RunOk(async self =>
        {
            var mig = self.Kernel.Tasks.First(t => t.Comm == "migration/0");
            (await self.SchedSetaffinity(mig.Pid, CpuMask.Of(1))).Should().Be(Errno.EINVAL.Ret());
            (await self.SchedSetaffinity(0, CpuMask.Of(1))).Should().Be(0, "migration still works");
            await self.Compute(Ms.Of(1));
            self.CurrentCpu.Should().Be(1);
        }, KernelBuilder.New().Cpus(2));
    }

    // ------------------------------------------------------------------ 10-11: merging and offsets

    [Test]
    public void F10_AreasWhosePgoffsDoNotContinueDoNotMerge()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, Anon);
            await self.Store(a, 1);
            await self.Store(a + Page, 2);
            long far = await self.Mmap(0, 8 * Page, RW, Anon);
            await self.Munmap(far, 8 * Page);
            // Move the two pages apart so that their pgoffs no longer follow their addresses.
            (await self.Mremap(a + Page, Page, Page, MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED, far)).Should().Be(far);
            (await self.Mremap(a, Page, Page, MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED, far + 2 * Page)).Should().Be(far + 2 * Page);
            (await self.Mmap(far + Page, Page, RW, Anon | MapFlags.MAP_FIXED)).Should().Be(far + Page);
            await self.Store(far + Page, 3);
            (await self.Load<int>(far)).Should().Be(2);
            (await self.Load<int>(far + 2 * Page)).Should().Be(1);
            foreach (long addr in new[] { far, far + Page, far + 2 * Page })
            {
                int pfn = self.Mm!.Translate(addr, write: false);
                self.Kernel.RmapQuery(pfn).Ptes.Should().ContainSingle(e => e.Addr == addr, $"the reverse map finds the page at {addr:x}");
            }
        });
    }

    [Test]
    public void F11_AFileMappingAtANegativeOffsetIsRefused()
    {
        RunOk(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            long r = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, fd, -Page);
            r.Should().BeOneOf(Errno.EINVAL.Ret(), Errno.EOVERFLOW.Ret());
        });
    }

    // ------------------------------------------------------------------ 12-19: wrong answers

    [Test]
    public void F12_ReadIntoABadBufferIsEfaultNotSigsegv()
    {
        RunOk(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            long buf = await self.Mmap(0, Page, RW, Anon);
            (await self.Write(fd, buf, Page)).Should().Be(Page);
            await self.Lseek(fd, 0, UserTask.SEEK_SET);
            (await self.Read(fd, 0x10, 100)).Should().Be(Errno.EFAULT.Ret());
            (await self.Read(fd, buf + Page - 10, 100)).Should().Be(10, "the bytes copied before the fault");
        });
    }

    [Test]
    public void F13_MunmapOfABadRangeIsEinval()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            (await self.Munmap(a, -Page)).Should().Be(Errno.EINVAL.Ret());
            (await self.Munmap(a + 1, Page)).Should().Be(Errno.EINVAL.Ret());
            (await self.Munmap(0xC0000000L, Page)).Should().Be(Errno.EINVAL.Ret(), "beyond TASK_SIZE on i386");
            (await self.Munmap(a, 0)).Should().Be(Errno.EINVAL.Ret());
        });
    }

    [Test]
    public void F14_TmpfsFilesStopAtTheFileSizeLimit()
    {
        RunOk(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            (await self.Ftruncate(fd, long.MaxValue)).Should().Be(Errno.EFBIG.Ret());
            (await self.Lseek(fd, long.MaxValue, UserTask.SEEK_SET)).Should().Be(Errno.EINVAL.Ret());
        });
    }

    [Test]
    public void F15_PathsLongerThanNameMaxAreEnametoolong()
    {
        string name = "/" + new string('x', 300);
        RunOk(async self =>
        {
            (await self.Unlink(name)).Should().Be(Errno.ENAMETOOLONG.Ret());
            (await self.Open(name, OpenFlags.O_CREAT | OpenFlags.O_RDWR)).Should().Be(Errno.ENAMETOOLONG.Ret());
        });
    }

    [Test]
    public void F16_AZombieStillAnswersKillZeroAndSchedGetscheduler()
    {
        RunOk(async self =>
        {
            long child = await self.Fork(async c => await c.Exit(0));
            await self.Nanosleep(Ms.Of(5)); // the child is a zombie until we wait
            (await self.Kill((int)child, 0)).Should().Be(0);
            self.SchedGetscheduler((int)child).Should().Be((long)SchedPolicy.SCHED_NORMAL);
            await self.Wait4((int)child);
            (await self.Kill((int)child, 0)).Should().Be(Errno.ESRCH.Ret(), "reaped: gone");
        });
    }

    [Test]
    public void F17_MremapGrowsASharedMappingInPlace()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            (await self.Munmap(a + Page, 3 * Page)).Should().Be(0);
            await self.Store(a, 9);
            (await self.Mremap(a, Page, 2 * Page, 0)).Should().Be(a, "the next page is free: grow in place");
            int fd = (int)await self.Open("/g", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 4 * Page);
            long f = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_SHARED, fd);
            (await self.Munmap(f + Page, 3 * Page)).Should().Be(0);
            (await self.Mremap(f, Page, 3 * Page, 0)).Should().Be(f, "a file mapping grows in place too");
            await self.Store(f + 2 * Page, 1);
        });
    }

    [Test]
    public void F18_HeuristicOvercommitRefusesAMappingOfFourTimesRam()
    {
        RunOk(async self =>
        {
            (await self.Mmap(0, 128 * MemoryLayout.MiB, RW, Anon)).Should().Be(Errno.ENOMEM.Ret());
        }, KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { MemoryBytes = 32 * MemoryLayout.MiB } }));
    }

    [Test]
    public void F19_MincoreOnAnonymousMemoryIsEnomemAs2620()
    {
        RunOk(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, Anon);
            await self.Store(a, 1);
            (await self.Mincore(a, 2 * Page, new byte[2])).Should().Be(Errno.ENOMEM.Ret(), "2.6.20's mincore_vma: no file, -ENOMEM");
        });
    }

    // ------------------------------------------------------------------ 20: the free-area cache

    [Test]
    public void F20_FillingToMaxMapCountEndsInEnomemAndMunmapLetsTheCacheFindTheHole()
    {
        long count = 0, last = 0, after = 0, reused = 0, hole = 0, lastMapCount = 0;
        RunOk(async self =>
        {
            // Alternate protections so that neighbouring one-page areas do not merge.
            while (true)
            {
                long a = await self.Mmap(0, Page, (count & 1) == 0 ? Prot.PROT_READ : RW, Anon);
                if (a < 0)
                {
                    after = a;
                    break;
                }
                last = a;
                count++;
            }
            lastMapCount = self.Mm!.MapCount;
            hole = last + 100 * Page;
            (await self.Munmap(hole, Page)).Should().Be(0);
            reused = await self.Mmap(0, Page, RW, Anon);
        }, KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { MemoryBytes = 64 * MemoryLayout.MiB } }));
        after.Should().Be(Errno.ENOMEM.Ret(), "map_count reached max_map_count");
        lastMapCount.Should().Be(MmStruct.DEFAULT_MAX_MAP_COUNT + 1, "do_mmap_pgoff refuses only once map_count > max_map_count");
        count.Should().BeGreaterThan(65_000);
        reused.Should().Be(hole, "arch_unmap_area_topdown raised free_area_cache to the new hole");
    }

    // ------------------------------------------------------------------ found by the stress test

    [Test]
    public void Stress01_ASharedAnonymousMappingOfAHugeLengthIsEnomemNotAHostException()
    {
        RunOk(async self =>
        {
            (await self.Mmap(0, long.MaxValue, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS)).Should().Be(Errno.ENOMEM.Ret());
            (await self.Mmap(0, -Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS)).Should().Be(Errno.ENOMEM.Ret());
        });
    }

    [Test]
    public void Stress02_ASigbusHandlerThatReturnsGetsOneRetryThenTheDefaultAction()
    {
        int handled = 0;
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("prog", async self =>
        {
            self.Signal(Signals.SIGBUS, _ => handled++);
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            long a = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_SHARED, fd); // the file is empty: SIGBUS
            await self.Store(a, 1);
        });
        k.RunUntilIdle().Should().BeTrue("no endless fault-handler loop");
        handled.Should().Be(1);
        (t.ExitCode & 0x7f).Should().Be(Signals.SIGBUS);
        k.AssertInvariants();
    }

    [Test]
    public void Stress03_MremapFixedWhoseDestinationCutsTheSourceAreaMovesTheRightArea()
    {
        RunOk(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 8 * Page);
            long a = await self.Mmap(0, 8 * Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Store(a + 6 * Page, 66);
            // Move page 6 to a + 1 page: clearing [a+1p, a+3p) first cuts the area in three.
            long r = await self.Mremap(a + 6 * Page, Page, 2 * Page, MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED, a + Page);
            r.Should().Be(a + Page);
            (await self.Load<int>(a + Page)).Should().Be(66, "the moved page is the file's page 6");
            (await self.Load<int>(a + 2 * Page)).Should().Be(0, "the grown page is the file's page 7");
        });
    }

    [Test]
    public void Stress04_UnderTheGoodnessSchedulerARunnableTaskMovedToAnIdleCpuRunsThere()
    {
        long childDone = 0;
        int childCpu = -1;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Scheduler(SchedulerKind.Goodness24).Boot();
        k.Spawn("rt", async self =>
        {
            long child = await self.Fork(async c =>
            {
                await c.Nanosleep(TimeSpec.FromMilliseconds(1)); // wakes while the RT parent holds cpu0
                await c.Compute(Ms.Of(1));
                childCpu = c.CurrentCpu;
                childDone = c.Now;
            });
            await self.Compute(Ms.Of(3));
            (await self.SchedSetaffinity((int)child, CpuMask.Of(1))).Should().Be(0);
            await self.Compute(Ms.Of(20));
            await self.Wait4((int)child);
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0), Policy = SchedPolicy.SCHED_FIFO, RtPriority = 10 });
        k.RunUntilIdle(Ms.Of(200)).Should().BeTrue();
        childCpu.Should().Be(1);
        childDone.Should().BeLessThan(Ms.Of(20), "cpu1 was told to pick the child up at once, not when cpu0 next scheduled");
        k.AssertInvariants();
    }

    // ------------------------------------------------------------------ 21: diagnosability

    [Test]
    public void F21_AKernelBugKeepsTheStackWhereItFired()
    {
        var k = KernelBuilder.New().Boot();
        k.Spawn("bug", async self => await self.KernelCall(m =>
        {
            ThrowDeepInsideTheKernel();
            return ValueTask.FromResult(0L);
        }));
        var act = () => k.RunUntilIdle();
        act.Should().Throw<KernelBug>().Which.StackTrace.Should().Contain(nameof(ThrowDeepInsideTheKernel));
    }

    private static void ThrowDeepInsideTheKernel() => throw new KernelBug("test bug");
}
