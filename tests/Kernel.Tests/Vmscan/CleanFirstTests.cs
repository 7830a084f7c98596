using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Mm;
using NUnit.Framework;

namespace Kernel.Tests.Vmscan;

/// <summary>The clean-first switch: Andrea Arcangeli's fix in the LWN "Time to thrash the 2.6 VM?" seed.</summary>
[Parallelizable(ParallelScope.All)]
public class CleanFirstTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    [Test]
    public void CopyingAFileNoLongerSwapsOutDirtySharedMemoryWithTheSwitchOn()
    {
        // The seed's database server at small scale: 22 MB of shared memory, dirty, on a 32 MB
        // machine, while a 64 MB file is read through the page cache. 2.6.20 swaps part of the
        // shared memory out (mapped_ratio is high); preferring clean cache keeps it in.
        (long swappedOut, long skipped, long bad) Scenario(bool cleanFirst)
        {
            var k = SwapTests.BootWithSwap(memMb: 32, swapMb: 64);
            k.Block.AttachDisk("sda", new RamDiskModel(), new MemoryBlockStore(64 * MemoryLayout.MiB));
            k.Proc.Write("/proc/sys/vm/prefer_clean_cache", cleanFirst ? "1" : "0").Should().Be(0);
            const long shm = 22 * MemoryLayout.MiB;
            bool ready = false, copied = false;
            long bad = -1;
            var db = k.Spawn("db", async self =>
            {
                (await self.Swapon("/dev/sdb")).Should().Be(0);
                long a = await self.Mmap(0, shm, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
                for (long off = 0; off < shm; off += Page)
                {
                    await self.Store(a + off, off + 7);
                }
                ready = true;
                while (!copied)
                {
                    await self.Nanosleep(10_000_000);
                }
                bad = 0;
                for (long off = 0; off < shm; off += Page)
                {
                    bad += await self.Load<long>(a + off) == off + 7 ? 0 : 1;
                }
                await self.Exit(0);
            });
            k.RunUntil(() => ready, 60_000_000_000).Should().BeTrue();
            long before = k.Memory.Swap.PswpOut;
            long during = 0;
            var cp = k.Spawn("cp", async self =>
            {
                long buf = await self.Mmap(0, 64 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
                for (long off = 0; off < 64 * MemoryLayout.MiB; off += 64 * Page)
                {
                    (await self.Read(fd, buf, 64 * Page)).Should().Be(64 * Page);
                }
                during = k.Memory.Swap.PswpOut - before;
                copied = true;
                await self.Exit(0);
            });
            k.RunUntilExit(cp, 600_000_000_000).Should().BeTrue();
            k.RunUntilExit(db, 600_000_000_000).Should().BeTrue();
            db.ExitCode.Should().Be(0);
            k.AssertInvariants();
            return (during, k.Memory.Reclaim!.CleanFirstSkipped, bad);
        }
        var plain = Scenario(cleanFirst: false);
        var fixedUp = Scenario(cleanFirst: true);
        TestContext.Out.WriteLine($"pages swapped out during the copy: 2.6.20 {plain.swappedOut}, clean first {fixedUp.swappedOut} ({fixedUp.skipped} dirty or mapped pages passed over)");
        plain.bad.Should().Be(0);
        fixedUp.bad.Should().Be(0);
        plain.swappedOut.Should().BePositive("2.6.20 swaps the dirty shared memory out to make room for the copy");
        fixedUp.swappedOut.Should().BeLessThan(plain.swappedOut / 2, "the copy's clean cache pages go first (until reclaim falls to priority 2)");
        fixedUp.skipped.Should().BePositive();
    }
}
