using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

[Parallelizable(ParallelScope.All)]
public class MemorySyscallTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;
    private const long Page = MemoryLayout.PAGE_SIZE;

    private static LinuxKernel Run(UserProgram body, int uid = 0)
    {
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("prog", body, new LinuxKernel.SpawnOptions { Uid = uid });
        k.RunUntilIdle().Should().BeTrue();
        t.ExitCode.Should().Be(0, "the program should finish normally");
        k.AssertInvariants();
        return k;
    }

    [Test]
    public void MremapMovesContentsWhenItCannotGrowInPlace()
    {
        Run(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, Anon);
            long blocker = await self.Mmap(a + 2 * Page, Page, Prot.PROT_READ, Anon | MapFlags.MAP_FIXED);
            blocker.Should().Be(a + 2 * Page);
            await self.Store(a, 11L);
            await self.Store(a + Page + 8, 22L);
            (await self.Mremap(a, 2 * Page, 8 * Page, 0)).Should().Be(Errno.ENOMEM.Ret(), "no room and no MREMAP_MAYMOVE");
            long b = await self.Mremap(a, 2 * Page, 8 * Page, MremapFlags.MREMAP_MAYMOVE);
            b.Should().NotBe(a);
            (await self.Load<long>(b)).Should().Be(11);
            (await self.Load<long>(b + Page + 8)).Should().Be(22);
            self.Mm!.Translate(a, false).Should().Be(-1, "the old range is unmapped");
        });
    }

    [Test]
    public void MremapGrowsInPlaceAndShrinks()
    {
        Run(async self =>
        {
            long low = await self.Mmap(0x30000000, 2 * Page, RW, Anon); // a hint far from other areas
            (await self.Mremap(low, 2 * Page, 6 * Page, 0)).Should().Be(low, "free pages above: grows in place");
            (await self.Mremap(low, 6 * Page, Page, 0)).Should().Be(low);
            self.Mm!.Vmas.FindVma(low)!.VmEnd.Should().Be(low + Page);
            (await self.Mremap(low + 1, Page, Page, 0)).Should().Be(Errno.EINVAL.Ret());
            (await self.Mremap(low, Page, 0, 0)).Should().Be(Errno.EINVAL.Ret());
            (await self.Mremap(0x50000000, Page, 2 * Page, 0)).Should().Be(Errno.EFAULT.Ret());
        });
    }

    [Test]
    public void MadviseDontneedDropsPagesAndOtherAdviceIsRecorded()
    {
        Run(async self =>
        {
            long a = await self.Mmap(0, 4 * Page, RW, Anon);
            await self.Store(a, 5);
            (await self.Madvise(a, Page, Madv.MADV_DONTNEED)).Should().Be(0);
            (await self.Load<int>(a)).Should().Be(0, "after MADV_DONTNEED anonymous memory reads as zeros");
            (await self.Madvise(a, 2 * Page, Madv.MADV_SEQUENTIAL)).Should().Be(0);
            self.Mm!.Vmas.FindVma(a)!.Has(VmFlags.VM_SEQ_READ).Should().BeTrue();
            (await self.Madvise(a, 2 * Page, Madv.MADV_NORMAL)).Should().Be(0);
            self.Mm.Vmas.FindVma(a)!.VmEnd.Should().Be(a + 4 * Page, "NORMAL merges the split areas back");
            (await self.Madvise(a, Page, Madv.MADV_WILLNEED)).Should().Be(Errno.EBADF.Ret(), "2.6.20 needs a file for WILLNEED");
            (await self.Madvise(a + 1, Page, Madv.MADV_NORMAL)).Should().Be(Errno.EINVAL.Ret());
            (await self.Madvise(a, Page, 17)).Should().Be(Errno.EINVAL.Ret());
            (await self.Madvise(0x50000000, Page, Madv.MADV_NORMAL)).Should().Be(Errno.ENOMEM.Ret());
        });
    }

    [Test]
    public void MincoreReportsWhichFilePagesAreInThePageCache()
    {
        var vec = new byte[4];
        var vec2 = new byte[4];
        long anon = 0;
        Run(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 4 * Page);
            long a = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Store(a + 2 * Page, 1);
            (await self.Mincore(a, 4 * Page, vec)).Should().Be(0);
            // A private mapping of the same file sees the file's cache, not its own copies.
            long p = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE, fd);
            (await self.Mincore(p, 4 * Page, vec2)).Should().Be(0);
            (await self.Mincore(a + 5, Page, vec)).Should().Be(Errno.EINVAL.Ret());
            (await self.Mincore(0x50000000, Page, vec)).Should().Be(Errno.ENOMEM.Ret(), "a hole");
            long m = await self.Mmap(0, Page, RW, Anon);
            await self.Store(m, 1);
            anon = await self.Mincore(m, Page, new byte[1]);
        });
        vec.Should().Equal(0, 0, 1, 0);
        vec2.Should().Equal(0, 0, 1, 0);
        anon.Should().Be(Errno.ENOMEM.Ret(), "2.6.20 does no anonymous mappings");
    }

    [Test]
    public void MsyncValidatesItsArguments()
    {
        Run(async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            (await self.Msync(a, Page, MsFlags.MS_SYNC)).Should().Be(0);
            (await self.Msync(a, Page, MsFlags.MS_SYNC | MsFlags.MS_ASYNC)).Should().Be(Errno.EINVAL.Ret());
            (await self.Msync(a + 4, Page, MsFlags.MS_ASYNC)).Should().Be(Errno.EINVAL.Ret());
            (await self.Msync(0x50000000, Page, MsFlags.MS_ASYNC)).Should().Be(Errno.ENOMEM.Ret());
        });
    }

    [Test]
    public void MlockPopulatesAndUnprivilegedUsersAreHeldToTheMemlockLimit()
    {
        Run(async self =>
        {
            long a = await self.Mmap(0, 16 * Page, RW, Anon);
            (await self.Mlock(a, 4 * Page)).Should().Be(0);
            self.Mm!.LockedVm.Should().Be(4);
            self.Mm.AnonRss.Should().Be(4, "mlock faults the pages in");
            (await self.Mlock(a, 16 * Page)).Should().Be(Errno.ENOMEM.Ret(), "RLIMIT_MEMLOCK is 32 KiB");
            (await self.Munlock(a, 4 * Page)).Should().Be(0);
            self.Mm.LockedVm.Should().Be(0);
        }, uid: 1000);
        Run(async self =>
        {
            long a = await self.Mmap(0, 64 * Page, RW, Anon);
            (await self.Mlock(a, 64 * Page)).Should().Be(0, "root holds CAP_IPC_LOCK");
        });
    }

    [Test]
    public void FaultsAndPageAllocationsAreTracedAndCounted()
    {
        var k = KernelBuilder.New().Boot();
        var faults = new List<Kernel.Mm.PageFaultUser>();
        var allocs = new List<Kernel.Mm.MmPageAlloc>();
        k.Trace.Get<Kernel.Mm.PageFaultUser>("page_fault_user").Fired += faults.Add;
        k.Memory.Tracepoints.PageAlloc.Fired += allocs.Add;
        long addr = 0;
        var t = k.Spawn("faulter", async self =>
        {
            addr = await self.Mmap(0, 2 * Page, RW, Anon);
            await self.Store(addr, 1);
            await self.Load<int>(addr + Page);
        });
        k.RunUntilIdle();
        faults.Where(f => f.Pid == t.Pid).Select(f => (f.Address, f.Write, f.Result)).Should().Equal(
            (addr, true, "Minor"), (addr + Page, false, "Minor"));
        allocs.Should().Contain(a => !a.Free && a.Order == 0 && a.GfpFlags == (uint)(Gfp.GFP_HIGHUSER | Gfp.__GFP_ZERO));
        k.Proc.Read("/proc/vmstat")!.Should().MatchRegex(@"\npgfault [1-9]\d*\n");
        k.AssertInvariants();
    }
}
