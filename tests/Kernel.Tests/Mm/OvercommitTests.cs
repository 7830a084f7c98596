using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>__vm_enough_memory's three policies, Committed_AS, and the /proc/sys/vm knobs that steer them.</summary>
[Parallelizable(ParallelScope.All)]
public class OvercommitTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static long CommittedKb(LinuxKernel k) =>
        long.Parse(k.Proc.Read("/proc/meminfo")!.Split('\n').First(l => l.StartsWith("Committed_AS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    private static (long Huge, long NoReserve, long Fits) Try(string mode, int uid = 1000)
    {
        var k = KernelBuilder.New().Boot(); // 256 MiB
        k.Proc.Write("/proc/sys/vm/overcommit_memory", mode).Should().Be(0);
        long huge = 0, noreserve = 0, fits = 0;
        k.Spawn("p", async self =>
        {
            huge = await self.Mmap(0, 2L << 30, Prot.PROT_WRITE, Anon);
            noreserve = await self.Mmap(0, 512L << 20, RW, Anon | MapFlags.MAP_NORESERVE);
            fits = await self.Mmap(0, 64L << 20, RW, Anon);
        }, new LinuxKernel.SpawnOptions { Uid = uid });
        k.RunUntilIdle();
        k.AssertInvariants();
        return (huge, noreserve, fits);
    }

    [Test]
    public void GuessRefusesAPrivateWritableMappingLargerThanMemory()
    {
        var (huge, noreserve, fits) = Try("0");
        huge.Should().Be(Errno.ENOMEM.Ret(), "2 GiB of private writable memory cannot fit 256 MiB");
        noreserve.Should().BeGreaterThan(0, "MAP_NORESERVE is not charged under OVERCOMMIT_GUESS");
        fits.Should().BeGreaterThan(0);
    }

    [Test]
    public void AlwaysAcceptsEverything()
    {
        var (huge, noreserve, fits) = Try("1");
        huge.Should().BeGreaterThan(0);
        noreserve.Should().BeGreaterThan(0);
        fits.Should().BeGreaterThan(0);
    }

    [Test]
    public void NeverKeepsCommittedUnderTheCommitLimitAndChargesNoreserveToo()
    {
        var (huge, noreserve, fits) = Try("2");
        huge.Should().Be(Errno.ENOMEM.Ret());
        noreserve.Should().Be(Errno.ENOMEM.Ret(), "OVERCOMMIT_NEVER ignores MAP_NORESERVE");
        fits.Should().BeGreaterThan(0, "64 MiB is under half of RAM");
    }

    [Test]
    public void CommittedAsFollowsMappingsBrkForkAndUnmapping()
    {
        var k = KernelBuilder.New().Boot();
        long baseKb = 0, mapped = 0, afterFork = 0, afterBrk = 0, afterUnmap = 0, shared = 0, afterSharedGone = 0;
        k.Spawn("p", async self =>
        {
            baseKb = CommittedKb(self.Kernel);
            long a = await self.Mmap(0, 16L << 20, RW, Anon);
            mapped = CommittedKb(self.Kernel);
            long child = await self.Fork(async c =>
            {
                afterFork = CommittedKb(c.Kernel);
                await c.Exit(0);
            });
            await self.Wait4((int)child);
            long brk = await self.Brk(0);
            await self.Brk(brk + (4L << 20));
            afterBrk = CommittedKb(self.Kernel);
            await self.Munmap(a, 16L << 20);
            afterUnmap = CommittedKb(self.Kernel);
            long s = await self.Mmap(0, 8L << 20, Prot.PROT_READ, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            shared = CommittedKb(self.Kernel);
            await self.Munmap(s, 8L << 20);
            afterSharedGone = CommittedKb(self.Kernel);
        });
        k.RunUntilIdle();
        k.AssertInvariants();
        (mapped - baseKb).Should().Be(16 * 1024);
        (afterFork - mapped).Should().BeGreaterThanOrEqualTo(16 * 1024, "dup_mmap charges the child's copy of every accounted area");
        (afterBrk - mapped).Should().Be(4 * 1024, "the child's charge went back when it exited; brk charged its growth");
        (afterUnmap - afterBrk).Should().Be(-16 * 1024);
        (shared - afterUnmap).Should().Be(8 * 1024, "shmem_file_setup charges shared anonymous memory, even read-only");
        afterSharedGone.Should().Be(afterUnmap);
    }

    [Test]
    public void VmSysctlsReadAndWriteInProcDointvecFormat()
    {
        var k = KernelBuilder.New().Boot();
        var p = k.Proc;
        p.Read("/proc/sys/vm/overcommit_memory").Should().Be("0\n");
        p.Read("/proc/sys/vm/overcommit_ratio").Should().Be("50\n");
        p.Write("/proc/sys/vm/overcommit_ratio", " 80\n").Should().Be(0);
        p.Read("/proc/sys/vm/overcommit_ratio").Should().Be("80\n");
        p.Write("/proc/sys/vm/overcommit_memory", "always").Should().Be(Errno.EINVAL.Ret());
        p.Write("/proc/sys/vm/overcommit_memory", "1 2").Should().Be(Errno.EINVAL.Ret(), "one integer");
        p.Write("/proc/sys/vm/min_free_kbytes", "-1").Should().Be(Errno.EINVAL.Ret());
        p.Write("/proc/sys/vm/min_free_kbytes", "4096").Should().Be(0);
        k.Memory.Zones[1].PagesMin.Should().BeGreaterThan(900, "setup_per_zone_pages_min ran again");
        p.Read("/proc/sys/vm/lowmem_reserve_ratio").Should().Be("256\t32\n");
        p.Write("/proc/sys/vm/lowmem_reserve_ratio", "128").Should().Be(0);
        k.Memory.Zones[0].LowmemReserve[1].Should().Be(k.Memory.Zones[1].PresentPages / 128);
        p.Write("/proc/sys/kernel/pid_max", "100").Should().Be(Errno.EINVAL.Ret(), "below RESERVED_PIDS + 1");
        p.Write("/proc/sys/kernel/pid_max", "40000").Should().Be(Errno.EINVAL.Ret(), "above PID_MAX_LIMIT on i386");
        p.Write("/proc/sys/kernel/pid_max", "4096").Should().Be(0);
        k.Pids.PidMax.Should().Be(4096);
        p.Write("/proc/meminfo", "1").Should().Be(Errno.EACCES.Ret());
        p.Write("/proc/sys/vm/nonexistent", "1").Should().Be(Errno.ENOENT.Ret());
        p.Write("/proc/sys/vm/max_map_count", "3").Should().Be(0);
        long r = 0;
        k.Spawn("p", async self =>
        {
            for (int i = 0; i < 8 && r >= 0; i++)
            {
                r = await self.Mmap(0, 4096 * (i + 1), i % 2 == 0 ? RW : Prot.PROT_READ, Anon);
            }
        });
        k.RunUntilIdle();
        r.Should().Be(Errno.ENOMEM.Ret(), "map_count passed max_map_count");
        k.AssertInvariants();
    }
}
