using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>The anticipatory scheduler (as-iosched.c): deceptive idleness, its tunables, its history.</summary>
[Parallelizable(ParallelScope.All)]
public class AnticipatoryTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    /// <summary>Two processes each read 40 pages one at a time with O_DIRECT, far apart on a rotational disk.</summary>
    internal static (long FirstDoneNs, long SecondDoneNs, long Seeks, Elevator Elv) TwoReaders(string elevator)
    {
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        var model = new RotationalDisk();
        var disk = k.Block.AttachDisk("sda", model, new MemoryBlockStore(40L << 30), new DiskOptions { Elevator = elevator });
        var done = new long[2];
        var tasks = Enumerable.Range(0, 2).Select(i => k.Spawn($"reader{i}", async self =>
        {
            long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY | OpenFlags.O_DIRECT);
            long start = i * (30L << 30);
            for (int n = 0; n < 40; n++)
            {
                (await self.Pread(fd, buf, Page, start + n * Page)).Should().Be(Page);
            }
            done[i] = self.Now;
            await self.Exit(0);
        })).ToList();
        foreach (var t in tasks)
        {
            k.RunUntilExit(t, 60_000_000_000).Should().BeTrue();
        }
        k.AssertInvariants();
        return (done.Min(), done.Max(), model.Seeks, disk.Queue.Elevator);
    }

    [Test]
    public void AnticipationKeepsTheHeadWithOneReaderWhereDeadlineSeeksBetweenThem()
    {
        var deadline = TwoReaders("deadline");
        var anticipatory = TwoReaders("anticipatory");
        var asElv = (AnticipatoryElevator)anticipatory.Elv;
        TestContext.Out.WriteLine($"deadline: {deadline.FirstDoneNs} {deadline.SecondDoneNs} seeks {deadline.Seeks}; anticipatory: {anticipatory.FirstDoneNs} {anticipatory.SecondDoneNs} seeks {anticipatory.Seeks} antic {asElv.Anticipations} hits {asElv.AnticipationHits} timeouts {asElv.AnticipationTimeouts}");
        deadline.Seeks.Should().BeGreaterThan(60, "each completion lets the other reader's request in: a long seek every time");
        anticipatory.Seeks.Should().BeLessThan(deadline.Seeks / 4, "the disk waits a moment for the reader it just served");
        anticipatory.FirstDoneNs.Should().BeLessThan(deadline.FirstDoneNs / 2);
        anticipatory.SecondDoneNs.Should().BeLessThan(deadline.SecondDoneNs);
        asElv.Anticipations.Should().BeGreaterThan(30);
        asElv.AnticipationHits.Should().BeGreaterThan(30, "the awaited reader came back within antic_expire");
    }

    [Test]
    public void TunablesAreInMillisecondsAndEstTimeIsReadOnly()
    {
        var k = KernelBuilder.New().Hz(1000).BootForHostCalls();
        k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(1L << 20), new DiskOptions { Elevator = "anticipatory" });
        string dir = "/sys/block/sda/queue/iosched/";
        k.Proc.Read(dir + "antic_expire").Should().Be("6\n");
        k.Proc.Read(dir + "read_expire").Should().Be("125\n");
        k.Proc.Read(dir + "write_expire").Should().Be("250\n");
        k.Proc.Read(dir + "read_batch_expire").Should().Be("500\n");
        k.Proc.Read(dir + "write_batch_expire").Should().Be("125\n");
        k.Proc.Read(dir + "est_time").Should().StartWith("0 % exit probability\n");
        k.Proc.Write(dir + "est_time", "1").Should().Be(-(long)Kernel.Core.Errno.EACCES);
        k.Proc.Write(dir + "antic_expire", "0").Should().Be(0);
        ((AnticipatoryElevator)k.Block.Find("sda")!.Queue.Elevator).AnticExpire.Should().Be(0u, "0 turns anticipation off");
        k.Proc.Write(dir + "antic_expire", "x").Should().Be(-(long)Kernel.Core.Errno.EINVAL);
        k.Proc.Read("/sys/block/sda/queue/scheduler").Should().Be("noop [anticipatory] deadline cfq \n");
    }
}
