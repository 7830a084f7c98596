using System.Text;
using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Shmem;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

[Parallelizable(ParallelScope.All)]
public class TmpfsTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const long Page = MemoryLayout.PAGE_SIZE;

    private static LinuxKernel Run(UserProgram body) => KernelBuilder.New().RunToExit(body);

    [Test]
    public void WrittenBytesReadBackThroughThePageCache()
    {
        string back = "";
        var k = Run(async self =>
        {
            long buf = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            var text = Encoding.ASCII.GetBytes("hello, page cache");
            await self.StoreBytes(buf, text);
            int fd = (int)await self.Open("/data", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            fd.Should().BeGreaterThanOrEqualTo(0);
            (await self.Write(fd, buf, text.Length)).Should().Be(text.Length);
            (await self.Lseek(fd, 7, UserTask.SEEK_SET)).Should().Be(7);
            (await self.Read(fd, buf + Page, 100)).Should().Be(text.Length - 7, "reads stop at end of file");
            var got = new byte[text.Length - 7];
            await self.LoadBytes(buf + Page, got);
            back = Encoding.ASCII.GetString(got);
            (await self.Close(fd)).Should().Be(0);
            (await self.Close(fd)).Should().Be(Errno.EBADF.Ret());
        });
        back.Should().Be("page cache");
        k.Memory.Shmem.Names["/data"].Mapping.NrPages.Should().Be(1);
    }

    [Test]
    public void OpenErrorsFollowLinux()
    {
        Run(async self =>
        {
            (await self.Open("/missing", OpenFlags.O_RDONLY)).Should().Be(Errno.ENOENT.Ret());
            (await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR)).Should().BeGreaterThanOrEqualTo(0);
            (await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_RDWR)).Should().Be(Errno.EEXIST.Ret());
            int ro = (int)await self.Open("/f", OpenFlags.O_RDONLY);
            (await self.Write(ro, 0, 1)).Should().Be(Errno.EBADF.Ret());
            (await self.Ftruncate(ro, 10)).Should().Be(Errno.EINVAL.Ret(), "ftruncate needs a writable file");
            (await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, ro)).Should().Be(Errno.EACCES.Ret());
            (await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, 77)).Should().Be(Errno.EBADF.Ret());
            (await self.Unlink("/f")).Should().Be(0);
            (await self.Unlink("/f")).Should().Be(Errno.ENOENT.Ret());
        });
    }

    [Test]
    public void SharedFileMappingsSeeEachOthersWritesAcrossProcesses()
    {
        int childSaw = 0, parentSaw = 0;
        Run(async self =>
        {
            int fd = (int)await self.Open("/shm", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 4 * Page);
            long a = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Store(a + 8, 1);
            long child = await self.Fork(async c =>
            {
                childSaw = await c.Load<int>(a + 8);
                await c.Store(a + Page, 77);
            });
            await self.Wait4((int)child);
            parentSaw = await self.Load<int>(a + Page);
            // read(2) sees what the mapping wrote: it is the same page.
            await self.Lseek(fd, Page, UserTask.SEEK_SET);
            long buf = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            (await self.Read(fd, buf, 4)).Should().Be(4);
            (await self.Load<int>(buf)).Should().Be(77);
        });
        childSaw.Should().Be(1);
        parentSaw.Should().Be(77, "a shared mapping writes to the file's own page");
    }

    [Test]
    public void PrivateFileMappingsCopyOnWrite()
    {
        int fileValue = 0, mine = 0;
        Run(async self =>
        {
            int fd = (int)await self.Open("/p", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            long shared = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Store(shared, 5);
            long priv = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE, fd);
            (await self.Madvise(priv, Page, Madv.MADV_WILLNEED)).Should().Be(0, "WILLNEED is accepted on a file mapping");
            (await self.Load<int>(priv)).Should().Be(5, "a private mapping starts with the file's data");
            await self.Store(priv, 6);
            mine = await self.Load<int>(priv);
            fileValue = await self.Load<int>(shared);
            self.Mm!.AnonRss.Should().Be(1, "the private write made an anonymous copy");
        });
        mine.Should().Be(6);
        fileValue.Should().Be(5, "the file is untouched by private writes");
    }

    [Test]
    public void AFirstWriteToAPrivateFileMappingCopiesTheFilesBytes()
    {
        int neighbour = 0, fileValue = 0;
        Run(async self =>
        {
            int fd = (int)await self.Open("/w", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, Page);
            long shared = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Store(shared + 64, 11);
            long priv = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE, fd);
            await self.Store(priv, 12); // write fault on a not-present PTE: do_no_page copies at once
            neighbour = await self.Load<int>(priv + 64);
            fileValue = await self.Load<int>(shared);
            int cachePfn = self.Kernel.Memory.Shmem.GetPage(self.Kernel.Memory.Shmem.Names["/w"], 0, allocate: false);
            self.Kernel.Memory.PageAt(cachePfn).PageMapcount.Should().Be(1, "only the shared mapping maps the cache page");
            self.Mm!.AnonRss.Should().Be(1);
            self.Mm.FileRss.Should().Be(1);
        });
        neighbour.Should().Be(11, "the private copy starts with the file's bytes");
        fileValue.Should().Be(0, "the file is untouched by the private write");
    }

    [Test]
    public void ReadAndWriteCopyAcrossPageBoundariesWhereFileAndBufferOffsetsDiffer()
    {
        var pattern = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7 + 3)).ToArray();
        byte[] back = [], hole = [];
        Run(async self =>
        {
            long src = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long dst = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.StoreBytes(src + 100, pattern);
            int fd = (int)await self.Open("/x", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Lseek(fd, 2 * Page + 3000, UserTask.SEEK_SET);
            (await self.Write(fd, src + 100, pattern.Length)).Should().Be(pattern.Length);
            await self.Lseek(fd, 2 * Page + 3000, UserTask.SEEK_SET);
            (await self.Read(fd, dst + 4000, pattern.Length)).Should().Be(pattern.Length);
            back = new byte[pattern.Length];
            await self.LoadBytes(dst + 4000, back);
            // The file's first two pages were never written: holes, with no cache page, read as zeros.
            self.Kernel.Memory.Shmem.Names["/x"].Mapping.NrPages.Should().Be(4, "pages 2 to 5 hold bytes 11,192 to 21,191");
            await self.StoreBytes(dst, Enumerable.Repeat((byte)0xff, 2 * (int)Page).ToArray());
            await self.Lseek(fd, 0, UserTask.SEEK_SET);
            (await self.Read(fd, dst + 10, 2 * Page)).Should().Be(2 * Page);
            hole = new byte[2 * Page];
            await self.LoadBytes(dst + 10, hole);
        });
        back.Should().Equal(pattern);
        hole.Should().OnlyContain(b => b == 0);
    }

    [Test]
    public void SharedAnonymousMemoryIsSharedAcrossFork()
    {
        int parentSaw = 0;
        string maps = "";
        Run(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            a.Should().BeGreaterThan(0);
            maps = self.Kernel.Proc.Read($"/proc/{self.TaskStruct.Pid}/maps")!;
            long child = await self.Fork(async c => await c.Store(a, 4242));
            await self.Wait4((int)child);
            parentSaw = await self.Load<int>(a);
        });
        parentSaw.Should().Be(4242);
        maps.Should().Contain("rw-s").And.Contain("/dev/zero (deleted)");
    }

    [Test]
    public void AccessBeyondEndOfFileIsSigbusAndTruncateUnmapsPages()
    {
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("prog", async self =>
        {
            int fd = (int)await self.Open("/t", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 2 * Page);
            long a = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_SHARED, fd);
            await self.Store(a + Page, 3);
            await self.Ftruncate(fd, Page);
            self.Mm!.Translate(a + Page, false).Should().Be(-1, "truncation unmapped the page");
            self.Kernel.Memory.Shmem.Names["/t"].Mapping.NrPages.Should().Be(0);
            await self.Load<int>(a + Page); // beyond EOF now
        });
        k.RunUntilIdle().Should().BeTrue();
        (t.ExitCode & 0x7f).Should().Be(Signals.SIGBUS);
        k.AssertInvariants();
    }

    [Test]
    public void UnlinkedFilesLiveUntilTheLastMappingAndDescriptorGo()
    {
        var k = KernelBuilder.New().Boot();
        k.Spawn("prog", async self =>
        {
            int fd = (int)await self.Open("/tmpfile", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 8 * Page);
            long a = await self.Mmap(0, 8 * Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_POPULATE, fd);
            (await self.Unlink("/tmpfile")).Should().Be(0);
            await self.Close(fd);
            await self.Store(a, 9);
            (await self.Load<int>(a)).Should().Be(9, "still mapped: the file lives on");
            self.Kernel.Proc.Read($"/proc/{self.TaskStruct.Pid}/maps")!.Should().Contain("/tmpfile (deleted)");
            self.Kernel.Memory.NrFilePages.Should().Be(8);
            await self.Munmap(a, 8 * Page);
            self.Kernel.Memory.NrFilePages.Should().Be(0, "the last reference went: the pages are freed");
            self.Kernel.Memory.Shmem.Inodes.Should().BeEmpty();
        });
        k.RunUntilIdle().Should().BeTrue();
        k.AssertInvariants();
    }
}
