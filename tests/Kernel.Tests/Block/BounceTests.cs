using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>Highmem I/O directly and through bounce buffers (mm/highmem.c blk_queue_bounce).</summary>
[Parallelizable(ParallelScope.All)]
public class BounceTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private static readonly string[] Devices = ["sdb", "sda"];

    [Test]
    public void OnlyADeviceThatCannotReachHighmemBouncesAndTheBytesSurviveTheCopies()
    {
        var k = KernelBuilder.New().Memory(1536 * MemoryLayout.MiB).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        var low = k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(8L << 20), new DiskOptions { DmaLimitPfn = 0 });
        k.Block.AttachDisk("sdb", new SsdDisk(), new MemoryBlockStore(8L << 20));
        low.Queue.BouncePfn.Should().Be(k.Block.LowmemLimitPfn());
        k.Memory.TotalHighPages.Should().BePositive();
        var data = Enumerable.Range(0, 4 * (int)Page).Select(i => (byte)(i * 13 + 1)).ToArray();
        var back = new Dictionary<string, byte[]>();
        var bounced = new Dictionary<string, (long Bios, long Bytes)>();
        int highBuffers = 0;
        long nrBounceAtIssue = 0;
        BlockTracepoints.Of(k.Machine.Trace)[BlockAction.Issue].Fired += e => nrBounceAtIssue = Math.Max(nrBounceAtIssue, k.Memory.NrBounce);
        var t = k.Spawn("prog", async self =>
        {
            long buf = await self.Mmap(0, 8 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.StoreBytes(buf, data);
            await self.StoreBytes(buf + 4 * Page, new byte[4 * Page]);
            var mm = k.MmOf(self.TaskStruct)!;
            for (long a = buf; a < buf + 8 * Page; a += Page)
            {
                highBuffers += mm.Translate(a, write: false) >= k.Block.LowmemLimitPfn() ? 1 : 0;
            }
            foreach (var dev in Devices)
            {
                long before = k.Block.BouncePool.BouncedBios, bytesBefore = k.Block.BouncePool.BytesCopied;
                int fd = (int)await self.Open($"/dev/{dev}", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
                (await self.Pwrite(fd, buf, 4 * Page, 0)).Should().Be(4 * Page);
                (await self.Pread(fd, buf + 4 * Page, 4 * Page, 0)).Should().Be(4 * Page);
                var got = new byte[4 * Page];
                await self.LoadBytes(buf + 4 * Page, got);
                back[dev] = got;
                bounced[dev] = (k.Block.BouncePool.BouncedBios - before, k.Block.BouncePool.BytesCopied - bytesBefore);
                await self.StoreBytes(buf + 4 * Page, new byte[4 * Page]);
                await self.Close(fd);
            }
            await self.Exit(0);
        });
        k.RunUntilExit(t, 60_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        highBuffers.Should().Be(8, "a program's anonymous pages come from highmem first");
        back["sda"].Should().Equal(data);
        back["sdb"].Should().Equal(data);
        bounced["sdb"].Should().Be((0L, 0L), "a device that reaches highmem takes the pages directly");
        bounced["sda"].Bios.Should().Be(2, "the write and the read each went through a bounce copy");
        bounced["sda"].Bytes.Should().Be(8 * Page, "copied down for the write, up for the read");
        k.Block.BouncePool.InUse.Should().Be(0, "every bounce page went back");
        k.Block.BouncePool.MaxInUse.Should().Be(4);
        nrBounceAtIssue.Should().Be(4, "NR_BOUNCE counts the bounce pages of the request in flight");
        k.Proc.Read("/proc/vmstat").Should().Contain("nr_bounce 0\n");
        k.AssertInvariants();
    }
}
