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

namespace Kernel.Tests.Block;

/// <summary>/dev/sda from a program: buffered and O_DIRECT I/O, pread/pwrite, fsync and close, errors, disk images.</summary>
[Parallelizable(ParallelScope.All)]
public class BlockDeviceFileTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    /// <summary>The quick start of docs/block.md, as written there, with what it should print.</summary>
    [Test]
    public void TheQuickStartOfTheBlockPageRunsAsWritten()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 2, Hz = 1000 });
        var disk = k.Block.AttachDisk("sda", new RotationalDisk(), new MemoryBlockStore(40L << 30),
            new DiskOptions { Elevator = "deadline" });
        var reader = k.Spawn("reader", async self =>
        {
            long buf = await self.Mmap(0, 4096, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            await self.Pwrite(fd, buf, 4096, 1L << 30);
            await self.Pread(fd, buf, 4096, 1L << 30);
            await self.Close(fd);
            await self.Exit(0);
        });
        k.RunUntilExit(reader).Should().BeTrue();
        k.Proc.Write("/sys/block/sda/queue/scheduler", "anticipatory").Should().Be(0);
        var line = k.Proc.Read("/proc/diskstats")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        (line[2], line[3], line[5], line[7], line[9]).Should().Be(("sda", "1", "8", "1", "8"), "one read and one write of 8 sectors");
        k.Proc.Read("/sys/block/sda/queue/iosched/antic_expire").Should().Be("6\n");
        disk.Queue.Elevator.Name.Should().Be("anticipatory");
        k.Proc.Read("/proc/vmstat").Should().Contain("\npgpgin 4\npgpgout 4\n", "vmstat counts the submitted sectors in KB");
        k.AssertInvariants();
    }

    private static (LinuxKernel K, Gendisk Disk) Boot(BlockStore? store = null, DiskModel? model = null)
    {
        var k = KernelBuilder.New().Cpus(1).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        var disk = k.Block.AttachDisk("sda", model ?? new SsdDisk(), store ?? new MemoryBlockStore(16L << 20));
        return (k, disk);
    }

    private static void Run(LinuxKernel k, UserProgram body)
    {
        var t = k.Spawn("prog", body);
        k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    private static byte[] Pattern(int n, int seed) => Enumerable.Range(0, n).Select(i => (byte)(i * 31 + seed)).ToArray();

    [Test]
    public void BufferedWritesReachTheDiskAtFsyncAndODirectReadsThemBack()
    {
        var store = new MemoryBlockStore(16L << 20);
        var (k, disk) = Boot(store);
        var data = Pattern(3 * (int)Page, 5);
        long written = 0, synced = 1, direct = 0, pos = 0;
        byte[] onDiskBeforeSync = [], readBack = new byte[data.Length];
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 8 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.StoreBytes(buf, data);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            (await self.Lseek(fd, 4096 + 512, UserTask.SEEK_SET)).Should().Be(4096 + 512);
            written = await self.Write(fd, buf, data.Length);
            onDiskBeforeSync = new byte[data.Length];
            store.Read(4096 + 512, onDiskBeforeSync);
            synced = await self.Fsync(fd);
            await self.Close(fd);
            int dfd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY | OpenFlags.O_DIRECT);
            direct = await self.Pread(dfd, buf + 4 * Page, 4 * Page, 4096);
            pos = await self.Lseek(dfd, 0, UserTask.SEEK_CUR);
            await self.LoadBytes(buf + 4 * Page + 512, readBack);
            await self.Close(dfd);
            await self.Exit(0);
        });
        written.Should().Be(data.Length);
        onDiskBeforeSync.Should().OnlyContain(b => b == 0, "a buffered write only dirties the page cache");
        synced.Should().Be(0);
        direct.Should().Be(4 * Page);
        pos.Should().Be(0, "pread leaves f_pos alone");
        readBack.Should().Equal(data);
        var bdev = k.Block.BdevOf(disk);
        bdev.PagesRead.Should().Be(2, "the partly written first and last pages were read before the write");
        bdev.PagesWritten.Should().Be(4);
        disk.Stats.Ios[1].Should().BeGreaterThan(0);
    }

    [Test]
    public void ADirectWriteIsSeenByALaterBufferedReadAndTheLastCloseWritesDirtyPagesBack()
    {
        var store = new MemoryBlockStore(16L << 20);
        var (k, _) = Boot(store);
        var a = Pattern((int)Page, 1);
        var b = Pattern((int)Page, 2);
        var seen = new byte[Page];
        var onDiskAfterClose = new byte[Page];
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            (await self.Pread(fd, buf, Page, 0)).Should().Be(Page); // caches page 0 (zeros)
            await self.StoreBytes(buf + Page, a);
            int dfd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            (await self.Pwrite(dfd, buf + Page, Page, 0)).Should().Be(Page);
            (await self.Pread(fd, buf + 2 * Page, Page, 0)).Should().Be(Page);
            await self.LoadBytes(buf + 2 * Page, seen);
            await self.StoreBytes(buf + 3 * Page, b);
            (await self.Pwrite(fd, buf + 3 * Page, Page, 8 * Page)).Should().Be(Page);
            await self.Close(dfd);
            await self.Close(fd); // the last close of the device writes the dirty page
            store.Read(8 * Page, onDiskAfterClose);
            await self.Exit(0);
        });
        seen.Should().Equal(a, "the direct write dropped the stale cached page");
        onDiskAfterClose.Should().Equal(b);
    }

    [Test]
    public void BadRequestsGetLinuxsErrnoAndChangeNothing()
    {
        var (k, _) = Boot(new MemoryBlockStore(1L << 20));
        var results = new Dictionary<string, long>();
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            results["missing"] = await self.Open("/dev/sdz", OpenFlags.O_RDONLY);
            results["excl"] = await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL);
            results["unlink"] = await self.Unlink("/dev/sda");
            int dfd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            results["misaligned offset"] = await self.Pread(dfd, buf, 512, 100);
            results["misaligned buffer"] = await self.Pread(dfd, buf + 3, 512, 0);
            results["misaligned length"] = await self.Pread(dfd, buf, 500, 0);
            results["direct read at end"] = await self.Pread(dfd, buf, 512, 1L << 20);
            results["direct write at end"] = await self.Pwrite(dfd, buf, 512, 1L << 20);
            results["direct read across end"] = await self.Pread(dfd, buf, 4096, (1L << 20) - 1024);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            results["write at end"] = await self.Pwrite(fd, buf, 10, 1L << 20);
            results["write across end"] = await self.Pwrite(fd, buf, 100, (1L << 20) - 10);
            results["read at end"] = await self.Pread(fd, buf, 10, 1L << 20);
            results["lseek past end"] = await self.Lseek(fd, (1L << 20) + 1, UserTask.SEEK_SET);
            results["bad fd fsync"] = await self.Fsync(99);
            await self.Exit(0);
        });
        results.Should().Equal(new Dictionary<string, long>
        {
            ["missing"] = Errno.ENOENT.Ret(),
            ["excl"] = Errno.EEXIST.Ret(),
            ["unlink"] = Errno.EPERM.Ret(),
            ["misaligned offset"] = Errno.EINVAL.Ret(),
            ["misaligned buffer"] = Errno.EINVAL.Ret(),
            ["misaligned length"] = Errno.EINVAL.Ret(),
            ["direct read at end"] = 0,
            ["direct write at end"] = Errno.ENOSPC.Ret(),
            ["direct read across end"] = 1024,
            ["write at end"] = Errno.ENOSPC.Ret(),
            ["write across end"] = 10,
            ["read at end"] = 0,
            ["lseek past end"] = Errno.EINVAL.Ret(),
            ["bad fd fsync"] = Errno.EBADF.Ret(),
        });
    }

    [Test]
    public void ErrorsFromTheDiskReachReadWriteAndFsync()
    {
        var (k, disk) = Boot();
        var driver = k.Block.DriverOf(disk);
        driver.FailSector(64); // page 8
        driver.FailSector(200); // page 25
        long bufferedRead = 0, directRead = 0, directWrite = 0, fsync1 = 0, fsync2 = 1, goodRead = 0;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            bufferedRead = await self.Pread(fd, buf, Page, 8 * Page);
            goodRead = await self.Pread(fd, buf, Page, 9 * Page);
            (await self.Pwrite(fd, buf, Page, 25 * Page)).Should().Be(Page, "the write only dirties the cache");
            fsync1 = await self.Fsync(fd);
            fsync2 = await self.Fsync(fd);
            int dfd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            directRead = await self.Pread(dfd, buf, 2 * Page, 7 * Page);
            directWrite = await self.Pwrite(dfd, buf, Page, 25 * Page);
            await self.Exit(0);
        });
        bufferedRead.Should().Be(Errno.EIO.Ret());
        goodRead.Should().Be(Page);
        fsync1.Should().Be(Errno.EIO.Ret(), "the write-back failed");
        fsync2.Should().Be(0, "fsync reports a failed write once");
        directRead.Should().Be(Errno.EIO.Ret());
        directWrite.Should().Be(Errno.EIO.Ret());
        k.Block.Log.Should().Contain(l => l.Contains("sector 64"));
    }

    [Test]
    public void ADetachedDiskLeavesDevSysAndDiskstatsAndReleasesItsImage()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kernel-image-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "disk.img");
        try
        {
            var (k, disk) = Boot(ImageFileStore.Create(path, 4L << 20));
            long opened = -1, reopened = 0;
            var holder = k.Spawn("holder", async self =>
            {
                long buf = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await self.Store(buf, 0x0d15c);
                int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
                opened = fd;
                (await self.Pwrite(fd, buf, Page, 0)).Should().Be(Page);
                await self.Nanosleep(100_000_000);
                await self.Close(fd);
                await self.Nanosleep(100_000_000);
                reopened = await self.Open("/dev/sda", OpenFlags.O_RDONLY);
                await self.Exit(0);
            });
            k.RunUntil(() => opened >= 0, 1_000_000_000).Should().BeTrue();
            ((Action)(() => k.Block.DetachDisk("sda"))).Should().Throw<InvalidOperationException>().WithMessage("*busy*open*");
            k.Block.Find("sda").Should().BeSameAs(disk, "a refused detach changes nothing");
            k.RunUntil(() => k.Block.BdevOf(disk).Openers == 0, 1_000_000_000).Should().BeTrue();
            k.Block.DetachDisk("sda");
            k.Block.Find("sda").Should().BeNull();
            k.Proc.Read("/sys/block/sda/stat").Should().BeNull();
            k.Proc.Read("/sys/block/sda/queue/iosched/slice_idle").Should().BeNull();
            k.Proc.Read("/proc/diskstats").Should().NotContain("sda");
            k.RunUntilExit(holder, 1_000_000_000).Should().BeTrue();
            reopened.Should().Be(Errno.ENOENT.Ret(), "/dev/sda is gone");
            using (var again = ImageFileStore.Open(path))
            {
                var bytes = new byte[4];
                again.Read(0, bytes);
                BitConverter.ToInt32(bytes).Should().Be(0x0d15c, "the last close wrote the page back before the detach");
            }
            var back = k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(1L << 20));
            k.Proc.Read("/sys/block/sda/size").Should().Be("2048\n");
            ((Action)(() => k.Block.DetachDisk("sdz"))).Should().Throw<ArgumentException>();
            k.Dispose();
            k.Block.Find("sda").Should().BeSameAs(back);
            k.AssertInvariants();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void AnImagePersistsAcrossKernelsAndIsLockedWhileAttached()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kernel-image-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "disk.img");
        try
        {
            var data = Pattern(2 * (int)Page, 9);
            var store = ImageFileStore.Create(path, 8L << 20);
            ((Action)(() => ImageFileStore.Open(path))).Should().Throw<IOException>().WithMessage("*in use*");
            var (k1, _) = Boot(store);
            Run(k1, async self =>
            {
                long buf = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await self.StoreBytes(buf, data);
                int dfd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY | OpenFlags.O_DIRECT);
                (await self.Pwrite(dfd, buf, Page, 0)).Should().Be(Page);
                int fd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
                (await self.Pwrite(fd, buf + Page, Page, 100 * Page)).Should().Be(Page);
                (await self.Fsync(fd)).Should().Be(0);
                await self.Exit(0);
            });
            store.Dispose();
            var again = ImageFileStore.Open(path);
            again.CapacityBytes.Should().Be(8L << 20);
            var (k2, _) = Boot(again);
            var back = new byte[2 * Page];
            Run(k2, async self =>
            {
                long buf = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
                (await self.Pread(fd, buf, Page, 0)).Should().Be(Page);
                (await self.Pread(fd, buf + Page, Page, 100 * Page)).Should().Be(Page);
                await self.LoadBytes(buf, back);
                await self.Exit(0);
            });
            back.Should().Equal(data);
            again.Dispose();
            File.WriteAllBytes(Path.Combine(dir, "short.img"), new byte[700]);
            ((Action)(() => ImageFileStore.Open(Path.Combine(dir, "short.img")))).Should().Throw<IOException>().WithMessage("*700 bytes*");
            ((Action)(() => ImageFileStore.Open(Path.Combine(dir, "none.img")))).Should().Throw<FileNotFoundException>();
            var ro = ImageFileStore.Open(path, readOnly: true);
            var (k3, _) = Boot(ro);
            long openRw = 0;
            Run(k3, async self =>
            {
                openRw = await self.Open("/dev/sda", OpenFlags.O_RDWR);
                await self.Exit(0);
            });
            openRw.Should().Be(Errno.EROFS.Ret());
            ro.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void ThreeProgramsReadTheDeviceAtOnceAndDevShowsInMounts()
    {
        var (k, disk) = Boot(model: new RotationalDisk());
        k.Proc.Read("/proc/mounts").Should().Contain("devfs /dev devfs rw 0 0");
        var results = new long[3];
        var tasks = Enumerable.Range(0, 3).Select(i => k.Spawn($"reader{i}", async self =>
        {
            long buf = await self.Mmap(0, 16 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            results[i] = await self.Pread(fd, buf, 16 * Page, i * 1000 * Page);
            await self.Exit(0);
        })).ToList();
        foreach (var t in tasks)
        {
            k.RunUntilExit(t, 60_000_000_000).Should().BeTrue();
        }
        results.Should().AllBeEquivalentTo(16 * Page);
        disk.Stats.Ios[0].Should().Be(3, "read-ahead starts each read's 16 pages together, and the plugged queue merges them into one request (the read at the device's start opens a 32-page window)");
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 16 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
            (await self.Pwrite(fd, buf, 16 * Page, 3000 * Page)).Should().Be(16 * Page);
            (await self.Fsync(fd)).Should().Be(0);
            await self.Exit(0);
        });
        disk.Stats.Merges[1].Should().Be(15, "fsync writes the 16 pages in order and they merge at the back");
        disk.Stats.Ios[1].Should().Be(1, "one request: max_sectors (256 sectors, 128 KB) holds 32 pages");
    }
}
