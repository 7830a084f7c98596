using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>ioctl on /dev/sda (block/ioctl.c): sizes, limits, read-only, read-ahead, BLKFLSBUF, and the errors.</summary>
[Parallelizable(ParallelScope.All)]
public class BlockIoctlTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    private static LinuxKernel Boot(out Gendisk disk)
    {
        var k = KernelBuilder.New().Cpus(1).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        disk = k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(16L << 20));
        return k;
    }

    private static void Run(LinuxKernel k, UserProgram body, int uid = 0)
    {
        var t = k.Spawn("prog", body, new LinuxKernel.SpawnOptions { Uid = uid });
        k.RunUntilExit(t, 60_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    [Test]
    public void TheGetRequestsReportTheDevicesSizesAndLimits()
    {
        var k = Boot(out _);
        var arch = k.Memory.Arch;
        var got = new Dictionary<string, long>();
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            async ValueTask<long> Get(uint cmd, int size)
            {
                (await self.Ioctl(fd, cmd, buf)).Should().Be(0);
                return size switch
                {
                    2 => await self.Load<ushort>(buf),
                    4 => await self.Load<int>(buf),
                    _ => await self.Load<long>(buf),
                };
            }
            int longSize = BlockIoctl.LongSize(arch);
            got["size64"] = await Get(BlockIoctl.BLKGETSIZE64(arch), 8);
            got["size"] = await Get(BlockIoctl.BLKGETSIZE, longSize);
            got["ssz"] = await Get(BlockIoctl.BLKSSZGET, 4);
            got["bsz"] = await Get(BlockIoctl.BLKBSZGET(arch), 4);
            got["sect"] = await Get(BlockIoctl.BLKSECTGET, 2);
            got["ra"] = await Get(BlockIoctl.BLKRAGET, longSize);
            got["ro"] = await Get(BlockIoctl.BLKROGET, 4);
            await self.Exit(0);
        });
        got.Should().Equal(new Dictionary<string, long>
        {
            ["size64"] = 16L << 20,
            ["size"] = (16L << 20) / 512,
            ["ssz"] = 512,
            ["bsz"] = 4096,
            ["sect"] = 256,
            ["ra"] = 256,
            ["ro"] = 0,
        });
    }

    [Test]
    public void BlkrosetMakesWritesFailWithEpermUntilItIsCleared()
    {
        var k = Boot(out var disk);
        var results = new List<long>();
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            int dfd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            await self.Store(buf, 1);
            results.Add(await self.Ioctl(fd, BlockIoctl.BLKROSET, buf));
            results.Add(await self.Pwrite(fd, buf, Page, 0));
            results.Add(await self.Pwrite(dfd, buf, Page, 0));
            results.Add(await self.Pread(dfd, buf + 512, 512, 0));
            await self.Store(buf, 0);
            results.Add(await self.Ioctl(fd, BlockIoctl.BLKROSET, buf));
            results.Add(await self.Pwrite(dfd, buf, Page, 0));
            await self.Exit(0);
        });
        results.Should().Equal(0L, Errno.EPERM.Ret(), Errno.EPERM.Ret(), 512L, 0L, Page);
        disk.ReadOnly.Should().BeFalse();
    }

    [Test]
    public void SettingNeedsPrivilegeAndBadArgumentsGetLinuxsErrors()
    {
        var k = Boot(out var disk);
        var arch = k.Memory.Arch;
        var user = new List<long>();
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            await self.Store(buf, 1);
            user.Add(await self.Ioctl(fd, BlockIoctl.BLKROSET, buf));
            user.Add(await self.Ioctl(fd, BlockIoctl.BLKRASET, 512));
            user.Add(await self.Ioctl(fd, BlockIoctl.BLKFLSBUF, 0));
            user.Add(await self.Ioctl(fd, BlockIoctl.BLKBSZSET(arch), buf));
            await self.Exit(0);
        }, uid: 1000);
        user.Should().Equal(Errno.EACCES.Ret(), Errno.EACCES.Ret(), Errno.EACCES.Ret(), Errno.EACCES.Ret());
        var root = new List<long>();
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKROGET, 0x10));
            root.Add(await self.Ioctl(fd, 0x1234, buf));
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKRRPART, 0));
            root.Add(await self.Ioctl(99, BlockIoctl.BLKROGET, buf));
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKBSZSET(arch), 0));
            await self.Store(buf, 1000);
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKBSZSET(arch), buf));
            await self.Store(buf, 1024);
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKBSZSET(arch), buf));
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKBSZGET(arch), buf));
            root.Add(await self.Load<int>(buf));
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKRASET, 512));
            root.Add(await self.Ioctl(fd, BlockIoctl.BLKRAGET, buf));
            root.Add(await self.Load<int>(buf));
            int tfd = (int)await self.Open("/notes", OpenFlags.O_RDWR | OpenFlags.O_CREAT);
            root.Add(await self.Ioctl(tfd, BlockIoctl.BLKGETSIZE, buf));
            await self.Exit(0);
        });
        root.Should().Equal(Errno.EFAULT.Ret(), Errno.ENOTTY.Ret(), Errno.ENOTTY.Ret(), Errno.EBADF.Ret(), Errno.EINVAL.Ret(),
            Errno.EINVAL.Ret(), 0L, 0L, 1024L, 0L, 0L, 512L, Errno.ENOTTY.Ret());
        k.Block.BdevOf(disk).BlockSize.Should().Be(1024);
        disk.Queue.BackingDevInfo.RaPages.Should().Be(64);
    }

    [Test]
    public void BlkflsbufWritesBackAndDropsTheCachedPages()
    {
        var k = Boot(out var disk);
        var mapping = k.Block.BdevOf(disk).Mapping;
        long cachedBefore = -1;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(buf, 0x5a5a5a5a);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            (await self.Pwrite(fd, buf, 4 * Page, 0)).Should().Be(4 * Page);
            cachedBefore = mapping.NrPages;
            (await self.Ioctl(fd, BlockIoctl.BLKFLSBUF, 0)).Should().Be(0);
            await self.Exit(0);
        });
        cachedBefore.Should().Be(4);
        mapping.NrPages.Should().Be(0, "written back, then invalidated");
        var bytes = new byte[4];
        k.Block.DriverOf(disk).Store.Read(0, bytes);
        BitConverter.ToInt32(bytes).Should().Be(0x5a5a5a5a, "the dirty page reached the disk first");
    }
}
