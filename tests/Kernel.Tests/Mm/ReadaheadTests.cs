using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>
/// mm/readahead.c through the public API: a sequential reader's windows (4, then ahead windows of
/// 8, 16 and 32 pages), a random reader's single pages, the cache-hit cut-off, filemap_nopage's
/// read-around and madvise's hints, readahead(2) and MADV_WILLNEED, BLKRASET, and every byte
/// right when read-ahead pages are reclaimed before they are used.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class ReadaheadTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int Rw = Prot.PROT_READ | Prot.PROT_WRITE;

    private static (LinuxKernel K, Gendisk Disk, BlockDevice Bdev) Boot(long deviceBytes = 4L << 20, long memBytes = 64L << 20)
    {
        var k = KernelBuilder.New().Cpus(1).Hz(1000).Memory(memBytes).Boot();
        var store = new MemoryBlockStore(deviceBytes);
        var bytes = new byte[Page];
        for (long p = 0; p < deviceBytes / Page; p++)
        {
            BitConverter.TryWriteBytes(bytes, p * 31 + 7);
            BitConverter.TryWriteBytes(bytes.AsSpan((int)Page - 8), ~p);
            store.Write(p * Page, bytes);
        }
        var disk = k.Block.AttachDisk("sda", new SsdDisk(), store);
        return (k, disk, k.Block.BdevOf(disk));
    }

    private static void Run(LinuxKernel k, UserProgram body)
    {
        var t = k.Spawn("prog", body);
        k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    private static async ValueTask<bool> PageIsRight(UserTask self, long buf, long p) =>
        await self.Load<long>(buf) == p * 31 + 7 && await self.Load<long>(buf + Page - 8) == ~p;

    [Test]
    public void ASequentialReaderOpensAWindowThenReadsAheadOfItselfInGrowingWindows()
    {
        var (k, disk, bdev) = Boot();
        var readAfter = new long[64];
        long size1 = 0, aheadStart1 = 0, aheadSize1 = 0, sizeEnd = 0, aheadSizeEnd = 0, bad = 0;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            var ra = self.FileAt(fd)!.Ra;
            ra.RaPages.Should().Be(32, "VM_MAX_READAHEAD is 128 KB");
            for (int p = 0; p < 64; p++)
            {
                (await self.Read(fd, buf, Page)).Should().Be(Page);
                bad += await PageIsRight(self, buf, p) ? 0 : 1;
                readAfter[p] = bdev.PagesRead;
                if (p == 1)
                {
                    (size1, aheadStart1, aheadSize1) = (ra.Size, ra.AheadStart, ra.AheadSize);
                }
            }
            (sizeEnd, aheadSizeEnd) = (ra.Size, ra.AheadSize);
            await self.Exit(0);
        });
        bad.Should().Be(0);
        readAfter[0].Should().Be(4, "a first one-page read at the file's start opens a window of four times the request");
        readAfter[1].Should().Be(12, "the next sequential read starts the ahead window, twice the size, after the current one");
        (size1, aheadStart1, aheadSize1).Should().Be((4L, 4L, 8L));
        readAfter[3].Should().Be(12, "pages 2 and 3 are in the current window: nothing new is read");
        readAfter[4].Should().Be(28, "crossing into the ahead window makes it current and reads the next, 16 pages");
        readAfter[12].Should().Be(60);
        readAfter[28].Should().Be(92, "the windows stop growing at ra_pages (32)");
        readAfter[63].Should().Be(124, "the reader is always a window ahead of itself");
        (sizeEnd, aheadSizeEnd).Should().Be((32L, 32L));
        disk.Stats.Ios[0].Should().Be(6, "each window's pages are read through one plugged queue: one request per window");
    }

    [Test]
    public void RandomReadsTurnTheWindowsOffAndReadOnlyWhatTheyAsk()
    {
        var (k, _, bdev) = Boot();
        long bad = 0, size = -1, reads = 0;
        var rng = new Random(11);
        var pages = Enumerable.Range(1, 1000).Where(p => p % 3 == 0).OrderBy(_ => rng.Next()).Take(50).ToArray();
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            foreach (int p in pages)
            {
                (await self.Pread(fd, buf, Page, p * Page)).Should().Be(Page);
                bad += await PageIsRight(self, buf, p) ? 0 : 1;
            }
            size = self.FileAt(fd)!.Ra.Size;
            reads = bdev.PagesRead;
            await self.Exit(0);
        });
        bad.Should().Be(0);
        reads.Should().Be(50, "a read that does not follow the last one reads only its own page");
        size.Should().Be(0, "ra_off: no window");
    }

    [Test]
    public void AFileFoundInTheCacheTurnsReadAheadOffUntilAMissReopensIt()
    {
        var (k, _, bdev) = Boot();
        long afterFirst = 0, afterSecond = 0, afterThird = 0;
        int flagsAfterSecond = 0, flagsAfterThird = 0;
        long bad = 0;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 64 * Page, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            var ra = self.FileAt(fd)!.Ra;
            for (int pass = 0; pass < 2; pass++)
            {
                await self.Lseek(fd, 0, UserTask.SEEK_SET);
                for (int i = 0; i < 8; i++)
                {
                    (await self.Read(fd, buf, 64 * Page)).Should().Be(64 * Page);
                }
                if (pass == 0)
                {
                    afterFirst = bdev.PagesRead;
                }
            }
            afterSecond = bdev.PagesRead;
            flagsAfterSecond = ra.Flags;
            // On past what was read: the first page is a miss, and the windows open again.
            await self.Lseek(fd, 600 * Page, UserTask.SEEK_SET);
            for (int i = 0; i < 4; i++)
            {
                (await self.Read(fd, buf, 64 * Page)).Should().Be(64 * Page);
                for (int j = 0; j < 64; j++)
                {
                    bad += await PageIsRight(self, buf + j * Page, 600 + i * 64 + j) ? 0 : 1;
                }
            }
            afterThird = bdev.PagesRead;
            flagsAfterThird = ra.Flags;
            await self.Exit(0);
        });
        bad.Should().Be(0);
        afterFirst.Should().BeGreaterThanOrEqualTo(512).And.BeLessThanOrEqualTo(512 + 64, "the first pass reads its 512 pages and at most a window more");
        afterSecond.Should().Be(afterFirst, "the second pass finds every page cached");
        (flagsAfterSecond & FileRaState.RA_FLAG_INCACHE).Should().NotBe(0, "256 pages found cached in a row turn read-ahead off");
        (flagsAfterThird & FileRaState.RA_FLAG_INCACHE).Should().Be(0, "a miss turns it back on");
        (afterThird - afterSecond).Should().BeGreaterThan(256, "the windows read ahead again");
    }

    [Test]
    public void AFaultReadsAroundItselfAndTheHintsChangeThat()
    {
        var (k, _, bdev) = Boot();
        long afterFirst = 0, afterNear = 0, afterRandom = 0, cached = 0, hit = 0, miss = 0, bad = 0;
        var t = k.Spawn("prog", async self =>
        {
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            long a = await self.Mmap(0, 1024 * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
            bad += await PageIsRight(self, a + 100 * Page, 100) ? 0 : 1;
            afterFirst = bdev.PagesRead;
            cached = bdev.Mapping.NrPages;
            bad += await PageIsRight(self, a + 110 * Page, 110) ? 0 : 1;
            afterNear = bdev.PagesRead;
            (hit, miss) = (self.FileAt(fd)!.Ra.MmapHit, self.FileAt(fd)!.Ra.MmapMiss);
            (await self.Madvise(a + 512 * Page, 512 * Page, Madv.MADV_RANDOM)).Should().Be(0);
            bad += await PageIsRight(self, a + 700 * Page, 700) ? 0 : 1;
            afterRandom = bdev.PagesRead;
            await self.Exit(0);
        });
        k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        bad.Should().Be(0);
        afterFirst.Should().Be(32, "a missing page reads ra_pages around the fault");
        cached.Should().Be(32);
        afterNear.Should().Be(32, "page 110 was read around page 100 (84..115)");
        (hit, miss).Should().Be((1L, 1L));
        (afterRandom - afterNear).Should().Be(1, "MADV_RANDOM: a fault reads only its page");
        t.MajFlt.Should().Be(2, "the read-around fault and the random one waited for the device; the second found its page");
        k.AssertInvariants();
    }

    [Test]
    public void ReadaheadAndMadvWillneedStartReadsWithoutWaiting()
    {
        var (k, _, bdev) = Boot();
        long r = 0, afterCall = 0, lockedAtReturn = 0, afterUse = 0, willneed = 0, waited = 0;
        long wrOnly = 0, badFd = 0, tmpfs = 0, bad = 0, cachedAfterUse = 0;
        Run(k, async self =>
        {
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            long t0 = self.Now;
            r = await self.Readahead(fd, 10 * Page + 1, 64 * Page);
            waited = self.Now - t0;
            afterCall = bdev.PagesRead;
            lockedAtReturn = Enumerable.Range(10, 65).Count(i => bdev.Mapping.FindPage(i) is int pfn && pfn >= 0 && k.Memory.PageAt(pfn).Test(PageFlag.PG_locked));
            long buf = await self.Mmap(0, Page, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            for (int p = 10; p < 75; p++)
            {
                (await self.Pread(fd, buf, Page, p * Page)).Should().Be(Page);
                bad += await PageIsRight(self, buf, p) ? 0 : 1;
            }
            afterUse = bdev.PagesRead;
            cachedAfterUse = bdev.Mapping.NrPages;
            long a = await self.Mmap(0, 1024 * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
            (await self.Madvise(a + 500 * Page, 100 * Page, Madv.MADV_WILLNEED)).Should().Be(0);
            willneed = bdev.PagesRead - afterUse;
            int wfd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
            wrOnly = await self.Readahead(wfd, 0, Page);
            badFd = await self.Readahead(99, 0, Page);
            int tfd = (int)await self.Open("/data", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            tmpfs = await self.Readahead(tfd, 0, Page);
            await self.Exit(0);
        });
        r.Should().Be(0);
        afterCall.Should().Be(65, "bytes 10*4096+1 .. +64 pages span pages 10..74");
        lockedAtReturn.Should().Be(65, "readahead(2) returns with the reads in flight");
        waited.Should().BeLessThan(Ms.Of(1));
        bad.Should().Be(0);
        cachedAfterUse.Should().Be(afterUse, "no page was read twice: the preads found pages 10..74 in the cache");
        afterUse.Should().BeGreaterThan(65, "the sequential preads read ahead past the range themselves");
        willneed.Should().Be(100, "MADV_WILLNEED reads the range's pages");
        wrOnly.Should().Be(Errno.EBADF.Ret());
        badFd.Should().Be(Errno.EBADF.Ret());
        tmpfs.Should().Be(Errno.EINVAL.Ret(), "tmpfs has no readpage");
    }

    [Test]
    public void BlkrasetZeroTurnsReadAheadOffForFilesOpenedAfter()
    {
        var (k, _, bdev) = Boot();
        long reads = 0, raPages = -1;
        Run(k, async self =>
        {
            int ctl = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            (await self.Ioctl(ctl, BlockIoctl.BLKRASET, 0)).Should().Be(0);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            raPages = self.FileAt(fd)!.Ra.RaPages;
            long buf = await self.Mmap(0, Page, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            for (int p = 0; p < 40; p++)
            {
                (await self.Read(fd, buf, Page)).Should().Be(Page);
            }
            reads = bdev.PagesRead;
            await self.Exit(0);
        });
        raPages.Should().Be(0);
        reads.Should().Be(40, "without read-ahead a sequential reader reads a page at a time");
    }

    [Test]
    public void EveryByteIsRightWhenReadAheadPagesAreReclaimedBeforeTheyAreRead()
    {
        // 16 MB of memory, mostly taken by anonymous memory the reader keeps touching, and four
        // readers of one 32 MB device: read-ahead pages compete with each other and with reclaim.
        var (k, _, bdev) = Boot(deviceBytes: 32L << 20, memBytes: 16L << 20);
        long bad = 0;
        var readers = Enumerable.Range(0, 4).Select(r => k.Spawn($"reader{r}", async self =>
        {
            long hog = await self.Mmap(0, 2L << 20, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long buf = await self.Mmap(0, 16 * Page, Rw, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            long pages = (32L << 20) / Page;
            for (long p = r * 16; p < pages; p += 64)
            {
                (await self.Pread(fd, buf, 16 * Page, p * Page)).Should().Be(16 * Page);
                for (int j = 0; j < 16; j++)
                {
                    bad += await PageIsRight(self, buf + j * Page, p + j) ? 0 : 1;
                }
                await self.Store(hog + (p * Page % (2L << 20)), p);
            }
            await self.Exit(0);
        })).ToList();
        foreach (var t in readers)
        {
            k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
            t.ExitCode.Should().Be(0);
        }
        TestContext.Out.WriteLine($"pages read {bdev.PagesRead} for {(32L << 20) / Page} ({k.Memory.PgMajFault} major faults)");
        bad.Should().Be(0);
        bdev.PagesRead.Should().BeGreaterThan((32L << 20) / Page, "some pages read ahead were reclaimed before their reader came and were read again (read-ahead thrashing)");
        k.AssertInvariants();
    }
}
