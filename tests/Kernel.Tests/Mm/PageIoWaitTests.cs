using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>
/// Faults and reads that wait for I/O: a file system whose readpage completes later (a fake
/// device, mounted through the mount table) leaves the page locked; the fault or read sleeps in
/// wait_on_page_locked and goes on when the completion unlocks it.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class PageIoWaitTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private static readonly long IoNs = Ms.Of(4);

    /// <summary>A read-only file system of one file whose page reads take IoNs and may fail.</summary>
    private sealed class SlowFs : IFileSystem
    {
        public SlowFs(MemorySubsystem mem, int pages)
        {
            Memory = mem;
            File = new SlowInode(this, pages);
        }

        public MemorySubsystem Memory { get; }
        public SlowInode File { get; }
        public int ReadPages { get; set; }
        public HashSet<long> BadIndexes { get; } = new();
        public string Name => "slowfs";

        public (KFile? File, long Error) Open(string path, int flags) =>
            path == "/data" ? (KFile.Open(File, flags), 0) : (null, Errno.ENOENT.Ret());

        public long Unlink(string path) => Errno.EROFS.Ret();

        /// <summary>The byte the device holds at `offset` of the file.</summary>
        public static byte ByteAt(long offset) => (byte)(offset * 7 + 3);
    }

    private sealed class SlowInode : Inode
    {
        public SlowInode(SlowFs fs, int pages)
            : base(1, "data", new SlowFops())
        {
            Mapping = fs.Memory.NewAddressSpace(this, new SlowAops(fs));
            // A device without read-ahead (ra_pages 0): each page is read when the reader reaches it.
            Mapping.BackingDevInfo = fs.Memory.BackingDev.NewInfo("slowfs");
            Mapping.BackingDevInfo.RaPages = 0;
            Size = pages * Page;
            NLink = 1;
        }
    }

    private sealed class SlowFops : FileOperations
    {
        public override long Read(KFile file, MmStruct mm, long buf, long count) => GenericFile.Read(file, mm, buf, count);
        public override long Write(KFile file, MmStruct mm, long buf, long count) => Errno.EROFS.Ret();
        public override int Mmap(KFile file, Vma vma) => GenericFile.Mmap(file, vma);
    }

    private sealed class SlowAops(SlowFs fs) : AddressSpaceOperations
    {
        public override string Name => "slowfs_aops";

        /// <summary>Start the read; the "interrupt" IoNs later fills the page (or fails it) and unlocks it.</summary>
        public override int ReadPage(MemorySubsystem mem, AddressSpace mapping, int pfn)
        {
            fs.ReadPages++;
            long index = mem.PageAt(pfn).Index;
            var timer = new KTimer(_ =>
            {
                if (!fs.BadIndexes.Contains(index))
                {
                    var bytes = mem.WritePage(pfn);
                    for (int i = 0; i < bytes.Length; i++)
                    {
                        bytes[i] = SlowFs.ByteAt(index * Page + i);
                    }
                    mem.PageAt(pfn).Set(PageFlag.PG_uptodate);
                }
                mem.PageWait.UnlockPage(pfn); // end_page_read: wake the waiters
            });
            timer.Start(mem.Machine, mem.Machine.Now + IoNs);
            return 0;
        }

        public override int WritePage(MemorySubsystem mem, AddressSpace mapping, int pfn) => 0;

        public override int PrepareWrite(MemorySubsystem mem, KFile file, int pfn, int fromByte, int toByte) => (int)Errno.EROFS.Ret();
    }

    private static (LinuxKernel K, SlowFs Fs) Boot(int pages = 4)
    {
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        var fs = new SlowFs(k.Memory, pages);
        k.Mounts.Mount("/mnt/slow", fs).Should().Be(0);
        return (k, fs);
    }

    [Test]
    public void AFaultOnAPageUnderReadSleepsUntilTheIoCompletesAndASecondFaulterWaitsForTheSameRead()
    {
        var (k, fs) = Boot();
        long firstStart = 0, firstDone = 0, secondDone = 0;
        byte firstByte = 0, secondByte = 0;
        var reader = k.Spawn("reader", async self =>
        {
            int fd = (int)await self.Open("/mnt/slow/data", OpenFlags.O_RDONLY);
            long a = await self.Mmap(0, 4 * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
            await self.Clone(CloneFlags.CLONE_VM | (CloneFlags)Signals.SIGCHLD, async t =>
            {
                await t.Nanosleep(TimeSpec.FromMilliseconds(1));
                secondByte = await t.Load<byte>(a + Page + 5);
                secondDone = t.Now;
            });
            firstStart = self.Now;
            firstByte = await self.Load<byte>(a + Page + 5);
            firstDone = self.Now;
            await self.Wait4(-1, WaitOptions.None);
        });
        k.Run(Ms.Of(2));
        reader.State.Should().Be(TaskState.TASK_UNINTERRUPTIBLE, "the fault sleeps in wait_on_page_locked, in D state");
        k.RunUntilIdle().Should().BeTrue();

        reader.ExitCode.Should().Be(0);
        firstByte.Should().Be(SlowFs.ByteAt(Page + 5));
        secondByte.Should().Be(SlowFs.ByteAt(Page + 5));
        (firstDone - firstStart).Should().BeGreaterThanOrEqualTo(IoNs, "the load waited for the device");
        secondDone.Should().BeGreaterThanOrEqualTo(firstStart + IoNs, "the second faulter waited on the same read");
        fs.ReadPages.Should().Be(1, "one readpage: the second fault found the page in the cache, locked");
        reader.MajFlt.Should().Be(1, "waiting for a read is a major fault");
        k.AssertInvariants();
    }

    [Test]
    public void ReadSleepsOnEachPageAndReturnsEverythingInOneCall()
    {
        var (k, fs) = Boot();
        long r = 0, took = 0;
        var got = new byte[2 * Page];
        var prog = k.Spawn("reader", async self =>
        {
            int fd = (int)await self.Open("/mnt/slow/data", OpenFlags.O_RDONLY);
            long buf = await self.Mmap(0, 2 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Lseek(fd, 100, UserTask.SEEK_SET);
            long t0 = self.Now;
            r = await self.Read(fd, buf, 2 * Page);
            took = self.Now - t0;
            await self.LoadBytes(buf, got);
        });
        k.RunUntilIdle().Should().BeTrue();

        prog.ExitCode.Should().Be(0);
        r.Should().Be(2 * Page, "the read slept for its pages and carried on from f_pos");
        for (int i = 0; i < got.Length; i++)
        {
            got[i].Should().Be(SlowFs.ByteAt(100 + i), $"byte {i}");
        }
        fs.ReadPages.Should().Be(3, "bytes 100..8291 span three pages, read one after another");
        took.Should().BeGreaterThanOrEqualTo(3 * IoNs);
        k.AssertInvariants();
    }

    [Test]
    public void AFailedReadIsEioForReadAndSigbusForAFault()
    {
        var (k, fs) = Boot();
        fs.BadIndexes.Add(2);
        long r = 0;
        var prog = k.Spawn("reader", async self =>
        {
            int fd = (int)await self.Open("/mnt/slow/data", OpenFlags.O_RDONLY);
            long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Lseek(fd, 2 * Page, UserTask.SEEK_SET);
            r = await self.Read(fd, buf, 16);
            long a = await self.Mmap(0, 4 * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
            await self.Load<byte>(a + 2 * Page);
        });
        k.RunUntilIdle().Should().BeTrue();

        r.Should().Be(Errno.EIO.Ret());
        (prog.ExitCode & 0x7f).Should().Be(Signals.SIGBUS, "a mapped page that cannot be read is SIGBUS");
        fs.ReadPages.Should().Be(2, "the failed page left the cache, so the fault read it again");
        k.AssertInvariants();
    }

    [Test]
    public void TheMountTableRoutesPathsByLongestPrefixAndProcMountsListsIt()
    {
        var (k, fs) = Boot();
        k.Mounts.Mount("/mnt/slow", fs).Should().Be(Errno.EBUSY.Ret());
        k.Mounts.Mount("relative", fs).Should().Be(Errno.EINVAL.Ret());
        k.Mounts.Resolve("/mnt/slow/data").Should().Be(((IFileSystem)fs, "/data"));
        k.Mounts.Resolve("/mnt/slowly").Fs.Should().BeSameAs(k.Memory.Shmem, "a prefix must end at a '/'");
        k.Mounts.Resolve("/f").Should().Be(((IFileSystem)k.Memory.Shmem, "/f"));
        k.Machine.ProcFiles.Read("/proc/mounts").Should().Be("tmpfs / tmpfs rw 0 0\nslowfs /mnt/slow slowfs rw 0 0\n");
        long missing = 0, unlink = 0;
        k.Spawn("p", async self =>
        {
            missing = await self.Open("/mnt/slow/nothing", OpenFlags.O_RDONLY);
            unlink = await self.Unlink("/mnt/slow/data");
        });
        k.RunUntilIdle().Should().BeTrue();
        missing.Should().Be(Errno.ENOENT.Ret());
        unlink.Should().Be(Errno.EROFS.Ret());
        k.Mounts.Umount("/mnt/slow").Should().Be(0);
        k.Mounts.Umount("/").Should().Be(Errno.EINVAL.Ret());
    }
}
