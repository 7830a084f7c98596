using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>
/// A file system plugs into the page cache through its ops tables alone: this one's readpage
/// fills each page with its index, as a block device's would read it from disk.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class FilemapSeamTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    private sealed class PatternAops : AddressSpaceOperations
    {
        public int Reads;

        public override string Name => "pattern_aops";

        public override int ReadPage(MemorySubsystem mem, AddressSpace mapping, int pfn)
        {
            Reads++;
            ref var page = ref mem.PageAt(pfn);
            BitConverter.TryWriteBytes(mem.WritePage(pfn), (int)page.Index + 1000);
            page.Set(PageFlag.PG_uptodate);
            mem.PageWait.UnlockPage(pfn); // a synchronous "disk": the read is complete
            return 0;
        }

        public override int WritePage(MemorySubsystem mem, AddressSpace mapping, int pfn) => 0;

        public override int PrepareWrite(MemorySubsystem mem, KFile file, int pfn, int fromByte, int toByte) => 0;
    }

    private sealed class PatternFops : FileOperations
    {
        public override long Read(KFile file, MmStruct mm, long buf, long count) => GenericFile.Read(file, mm, buf, count);

        public override long Write(KFile file, MmStruct mm, long buf, long count) => GenericFile.Write(file, mm, buf, count);

        public override int Mmap(KFile file, Vma vma) => GenericFile.Mmap(file, vma);
    }

    private sealed class PatternInode : Inode
    {
        public PatternInode(MemorySubsystem mem, PatternAops aops, long size) : base(77, "/pattern", new PatternFops())
        {
            Mapping = mem.NewAddressSpace(this, aops);
            Size = size;
            NLink = 1;
        }
    }

    [Test]
    public void AFileSystemsReadpageFeedsReadsAndFaultsThroughTheGenericPageCache()
    {
        var k = KernelBuilder.New().Boot();
        var aops = new PatternAops();
        var inode = new PatternInode(k.Memory, aops, 4 * Page);
        int viaRead = 0, viaFault = 0, again = 0;
        long majBefore = k.Memory.PgMajFault;
        var t = k.Spawn("reader", async self =>
        {
            var file = KFile.Open(inode, OpenFlags.O_RDONLY);
            long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            file.Pos = 2 * Page;
            long map = 0;
            await self.KernelCall(m =>
            {
                GenericFile.Read(file, self.Mm!, buf, 16).Should().Be(16);
                map = self.Mm!.DoMmapFile(file, 0, 4 * Page, Prot.PROT_READ, MapFlags.MAP_SHARED, 0);
                return ValueTask.FromResult(0L);
            });
            viaRead = await self.Load<int>(buf);
            viaFault = await self.Load<int>(map + 3 * Page);
            again = await self.Load<int>(map + 2 * Page); // already cached by the read
            file.Fput();
            await self.Munmap(map, 4 * Page);
        });
        k.RunUntilIdle().Should().BeTrue();
        t.ExitCode.Should().Be(0);
        viaRead.Should().Be(1002);
        viaFault.Should().Be(1003);
        again.Should().Be(1002);
        aops.Reads.Should().Be(4, "the read (random: not at the file's start) reads its one page; the fault reads around it, ra_pages centred, up to the file's end; each page once");
        (k.Memory.PgMajFault - majBefore).Should().Be(1, "only the fault that needed readpage is major");
        inode.Mapping.NrPages.Should().Be(4);
        t.MajFlt.Should().Be(1);
        k.AssertInvariants();
    }
}
