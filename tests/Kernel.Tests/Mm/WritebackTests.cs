using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>Dirty page accounting, balance_dirty_pages throttling and pdflush (mm/page-writeback.c, mm/pdflush.c).</summary>
[Parallelizable(ParallelScope.All)]
public class WritebackTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static LinuxKernel Boot(long memMb, long diskMb)
    {
        var k = KernelBuilder.New().Memory(memMb * MemoryLayout.MiB).Hz(1000).Boot();
        k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(diskMb * MemoryLayout.MiB));
        return k;
    }

    private static void Run(LinuxKernel k, UserProgram body, long maxNs = 600_000_000_000)
    {
        var t = k.Spawn("writer", body);
        k.RunUntilExit(t, maxNs).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    [Test]
    public void AWriterIsThrottledAtTheDirtyLimitAndPdflushWritesInTheBackground()
    {
        var k = Boot(memMb: 64, diskMb: 128);
        var wb = k.Memory.Writeback;
        long maxDirty = 0, limit = 0, background = 0;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 64 * Page, RW, Anon);
            await self.Touch(buf, 64 * Page, write: true);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
            for (long off = 0; off < (96L << 20); off += 64 * Page)
            {
                (await self.Write(fd, buf, 64 * Page)).Should().Be(64 * Page);
                maxDirty = Math.Max(maxDirty, wb.NrFileDirty + wb.NrWriteback);
            }
            (background, limit) = wb.GetDirtyLimits();
            (await self.Fsync(fd)).Should().Be(0);
            await self.Close(fd);
            await self.Exit(0);
        });
        TestContext.Out.WriteLine($"limit {limit} background {background} max dirty+writeback {maxDirty} throttled {wb.BalanceDirtyThrottled} waits {wb.BalanceDirtyWaits} written by the writer {wb.BalanceDirtyWritten} by pdflush {wb.PdflushWritten} runs {wb.BackgroundRuns}");
        limit.Should().BeLessThan((96L << 20) / Page);
        maxDirty.Should().BeLessThanOrEqualTo(limit + wb.RatelimitPages + 64, "the writer stops at its ratelimit past the limit and writes back until under it");
        wb.BalanceDirtyThrottled.Should().BePositive();
        wb.BalanceDirtyWritten.Should().BePositive("a throttled writer writes back pages itself");
        wb.BackgroundRuns.Should().BePositive("above the background limit pdflush was started");
        wb.NrFileDirty.Should().Be(0);
        k.Proc.Read("/proc/sys/vm/nr_pdflush_threads").Should().Be("2\n");
    }

    [Test]
    public void StoresThroughASharedMappingAreThrottledAtTheDirtyLimitToo()
    {
        // set_page_dirty_balance: a write fault that dirties a page of a shared file mapping counts
        // against the ratelimit, and past it the faulting task runs balance_dirty_pages.
        var k = Boot(memMb: 64, diskMb: 128);
        var wb = k.Memory.Writeback;
        long maxDirty = 0, limit = 0, bad = 0, maxOver = long.MinValue;
        const long bytes = 96L << 20;
        Run(k, async self =>
        {
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            long a = await self.Mmap(0, bytes, RW, MapFlags.MAP_SHARED, fd);
            (await self.Madvise(a, bytes, Madv.MADV_RANDOM)).Should().Be(0);
            for (long off = 0; off < bytes; off += Page)
            {
                await self.Store(a + off, off + 11);
                maxDirty = Math.Max(maxDirty, wb.NrFileDirty + wb.NrWriteback);
                maxOver = Math.Max(maxOver, wb.NrFileDirty + wb.NrWriteback - wb.GetDirtyLimits().Dirty);
            }
            (_, limit) = wb.GetDirtyLimits();
            for (long off = 0; off < bytes; off += 16 * Page)
            {
                bad += await self.Load<long>(a + off) == off + 11 ? 0 : 1;
            }
            (await self.Munmap(a, bytes)).Should().Be(0);
            (await self.Fsync(fd)).Should().Be(0);
            await self.Close(fd);
            await self.Exit(0);
        });
        TestContext.Out.WriteLine($"limit {limit} max dirty+writeback {maxDirty} most over the limit of the moment {maxOver} ratelimit {wb.RatelimitPages} throttled {wb.BalanceDirtyThrottled} written by the writer {wb.BalanceDirtyWritten} by pdflush {wb.PdflushWritten}");
        bad.Should().Be(0);
        wb.BalanceDirtyThrottled.Should().BePositive("the storing task was throttled in its write faults");
        // Without the throttle the stores left 14,837 pages dirty or under writeback against a limit of 2,741.
        maxOver.Should().BeLessThanOrEqualTo(2 * wb.RatelimitPages, "it stops within a ratelimit of the limit of the moment, which itself falls while the mapping grows (mapped pages shrink the dirtyable memory)");
        wb.NrFileDirty.Should().Be(0);
    }

    private static readonly string[] ThreeDisks = ["sda", "sdc", "sdd"];

    [Test]
    public void ALastCloseThatWritesBackUnderPressureWaitsOnlyForItsOwnPages()
    {
        // Three writers, one disk each, on a machine too small for their dirty pages: the first to
        // close waits in sync_blockdev while reclaim frees and reuses pages. A frame freed during
        // the wait must not be taken for the device's page (it would be another device's page
        // under writeback, and the close would wait on the wrong queue for ever).
        var k = KernelBuilder.New().Memory(64 * MemoryLayout.MiB).Hz(1000).Boot();
        foreach (var d in ThreeDisks)
        {
            k.Block.AttachDisk(d, new SsdDisk(), new MemoryBlockStore(128 * MemoryLayout.MiB));
        }
        var writers = ThreeDisks.Select(d => k.Spawn("writer", async self =>
        {
            long buf = await self.Mmap(0, 64 * Page, RW, Anon);
            await self.Touch(buf, 64 * Page, write: true);
            int fd = (int)await self.Open("/dev/" + d, OpenFlags.O_WRONLY);
            for (long off = 0; off < (60L << 20); off += 64 * Page)
            {
                if (await self.Write(fd, buf, 64 * Page) != 64 * Page)
                {
                    await self.Exit(1);
                }
            }
            await self.Exit(await self.Close(fd) == 0 ? 0 : 2);
        })).ToList();
        foreach (var w in writers)
        {
            k.RunUntilExit(w, 600_000_000_000).Should().BeTrue();
            w.ExitCode.Should().Be(0);
        }
        k.Memory.Writeback.NrFileDirty.Should().Be(0, "each last close wrote its disk's pages back");
        k.AssertInvariants();
    }

    [Test]
    public void KupdateWritesWhatHasBeenDirtyLongerThanDirtyExpire()
    {
        var k = Boot(memMb: 64, diskMb: 16);
        var wb = k.Memory.Writeback;
        long dirtyAfter10s = -1, dirtyAfter40s = -1, written = 0;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 64 * Page, RW, Anon);
            await self.Touch(buf, 64 * Page, write: true);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
            (await self.Write(fd, buf, 64 * Page)).Should().Be(64 * Page); // far under the background limit
            await self.Nanosleep(10_000_000_000);
            dirtyAfter10s = wb.NrFileDirty;
            await self.Nanosleep(30_000_000_000);
            dirtyAfter40s = wb.NrFileDirty;
            written = wb.PdflushWritten;
            await self.Close(fd);
            await self.Exit(0);
        });
        dirtyAfter10s.Should().Be(64, "dirty data younger than dirty_expire_centisecs (30 s) waits");
        dirtyAfter40s.Should().Be(0, "wb_kupdate wrote it once it was 30 s old");
        written.Should().Be(64);
        wb.KupdateRuns.Should().BePositive();
        wb.BackgroundRuns.Should().Be(0);
    }

    [Test]
    public void TheDirtySysctlsTakeLinuxsRangesAndShapeTheLimits()
    {
        var k = Boot(memMb: 64, diskMb: 16);
        var wb = k.Memory.Writeback;
        k.Proc.Read("/proc/sys/vm/dirty_ratio").Should().Be("40\n");
        k.Proc.Read("/proc/sys/vm/dirty_background_ratio").Should().Be("10\n");
        k.Proc.Read("/proc/sys/vm/dirty_writeback_centisecs").Should().Be("500\n");
        k.Proc.Read("/proc/sys/vm/dirty_expire_centisecs").Should().Be("3000\n");
        k.Machine.EnterHostContext();
        var (bg, dirty) = wb.GetDirtyLimits();
        long total = k.Memory.TotalRamPages;
        dirty.Should().Be(40 * total / 100);
        bg.Should().Be(10 * total / 100);
        k.Proc.Write("/proc/sys/vm/dirty_ratio", "101").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Write("/proc/sys/vm/dirty_background_ratio", "-1").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Write("/proc/sys/vm/dirty_expire_centisecs", "-5").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Read("/proc/sys/vm/dirty_ratio").Should().Be("40\n", "nothing was half-applied");
        k.Proc.Write("/proc/sys/vm/dirty_ratio", "2").Should().Be(0);
        k.Proc.Write("/proc/sys/vm/dirty_background_ratio", "50").Should().Be(0);
        (bg, dirty) = wb.GetDirtyLimits();
        dirty.Should().Be(5 * total / 100, "dirty_ratio is never below 5");
        bg.Should().Be(2 * total / 100, "a background ratio at or above the dirty ratio becomes half of it");
        k.Proc.Write("/proc/sys/vm/nr_pdflush_threads", "4").Should().BeNegative("it is read-only");
    }
}
