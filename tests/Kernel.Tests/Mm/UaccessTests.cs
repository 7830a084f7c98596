using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Arch;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>The kernel's copies to and from user memory return -EFAULT; they never raise a signal.</summary>
[Parallelizable(ParallelScope.All)]
public class UaccessTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const long Page = MemoryLayout.PAGE_SIZE;

    private static LinuxKernel Run(UserProgram body) => KernelBuilder.New().RunToExit(body, "the program survives: no SIGSEGV for a kernel copy");

    private static async ValueTask<int> FileWith(UserTask self, int bytes)
    {
        int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
        long buf = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
        for (int i = 0; i < bytes; i += 4)
        {
            await self.Store(buf + i, i);
        }
        (await self.Write(fd, buf, bytes)).Should().Be(bytes);
        await self.Lseek(fd, 0, UserTask.SEEK_SET);
        await self.Munmap(buf, 4 * Page);
        return fd;
    }

    [Test]
    public void ReadIntoAnUnmappedBufferIsEfault()
    {
        long r = 0;
        Run(async self =>
        {
            int fd = await FileWith(self, 4096);
            r = await self.Read(fd, 0x10, 100);
        });
        r.Should().Be(Errno.EFAULT.Ret());
    }

    [Test]
    public void WriteFromAnUnmappedBufferIsEfault()
    {
        long r = 0;
        Run(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            r = await self.Write(fd, 0x10, 100);
        });
        r.Should().Be(Errno.EFAULT.Ret());
    }

    [Test]
    public void ReadIntoAReadOnlyMappingIsEfault()
    {
        long r = 0;
        Run(async self =>
        {
            int fd = await FileWith(self, 4096);
            long ro = await self.Mmap(0, Page, Prot.PROT_READ, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            r = await self.Read(fd, ro, 100);
        });
        r.Should().Be(Errno.EFAULT.Ret());
    }

    [Test]
    public void ReadStopsAtTheFirstBadPageAndReturnsWhatItCopied()
    {
        long r = 0, pos = 0;
        int last = 0;
        Run(async self =>
        {
            int fd = await FileWith(self, 3 * 4096);
            long buf = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Munmap(buf + Page, Page);       // the buffer's second page is a hole
            r = await self.Read(fd, buf + 100, 8000);  // 3,996 bytes fit before the hole
            pos = await self.Lseek(fd, 0, UserTask.SEEK_CUR);
            last = await self.Load<int>(buf + 100 + 3992);
        });
        r.Should().Be(Page - 100);
        pos.Should().Be(Page - 100, "f_pos advanced by what was copied");
        last.Should().Be(3992, "the bytes before the hole arrived");
    }

    [Test]
    public void WriteStopsAtTheFirstBadPageAndReturnsWhatItCopied()
    {
        long r = 0, size = 0;
        Run(async self =>
        {
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            long buf = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Munmap(buf + Page, Page);
            r = await self.Write(fd, buf + 1000, 5000);
            size = await self.Lseek(fd, 0, UserTask.SEEK_END);
        });
        r.Should().Be(Page - 1000);
        size.Should().Be(Page - 1000, "i_size covers only what was copied");
    }

    [Test]
    public void GetUserAndPutUserFromAKernelPath()
    {
        long putBad = 0, getBad = 0, got = 0;
        int seen = 0;
        Run(async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.KernelCall(m =>
            {
                var mm = self.Mm!;
                Uaccess.PutUser(mm, a + 8, 0x1234).Should().Be(0, "the fault is fixed in place");
                putBad = Uaccess.PutUser(mm, 0x10, 1);
                got = Uaccess.GetUser(mm, a + 8, out int v);
                seen = v;
                getBad = Uaccess.GetUser(mm, 0x10, out int _);
                return ValueTask.FromResult(0L);
            });
            (await self.Load<int>(a + 8)).Should().Be(0x1234);
        });
        putBad.Should().Be(Errno.EFAULT.Ret());
        getBad.Should().Be(Errno.EFAULT.Ret());
        got.Should().Be(0);
        seen.Should().Be(0x1234);
    }

    [Test]
    public void KernelCopiesFaultInPagesAndCountThem()
    {
        long minflt = 0;
        var k = Run(async self =>
        {
            int fd = await FileWith(self, 3 * 4096);
            long buf = await self.Mmap(0, 3 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long before = self.TaskStruct.MinFlt;
            (await self.Read(fd, buf, 3 * Page)).Should().Be(3 * Page);
            minflt = self.TaskStruct.MinFlt - before;
            (await self.Load<int>(buf + 2 * Page + 8)).Should().Be(2 * 4096 + 8);
        });
        minflt.Should().Be(3, "copy_to_user took one minor fault per untouched page");
    }
    [Test]
    public void AShortWriteLeavesTheRestOfTheFilePageAlone()
    {
        // filemap_copy_from_user's in-atomic copy: what could not be copied is not zeroed in the cache.
        long r = 0;
        int tail = 0;
        Run(async self =>
        {
            int fd = await FileWith(self, 4096);                   // bytes hold their own offsets
            long buf = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Munmap(buf + Page, Page);
            r = await self.Write(fd, buf + 1000, 4096);             // 3,096 bytes fit before the hole
            long probe = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Lseek(fd, 4000, UserTask.SEEK_SET);
            await self.Read(fd, probe, 4);
            tail = await self.Load<int>(probe);
        });
        r.Should().Be(Page - 1000);
        tail.Should().Be(4000, "the file's bytes past the short copy are what they were");
    }
}
