using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>One global io_request_lock for four queues (2.4) against a lock per queue (2.6), four CPUs each driving its own disk.</summary>
[Parallelizable(ParallelScope.All)]
public class IoRequestLockTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    internal static (long Contentions, long SpinNs, long Ios, long SimNs) Run(bool shared, int writesPerCpu = 300)
    {
        var k = KernelBuilder.New().Cpus(4).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        var disks = Enumerable.Range(0, 4).Select(i => k.Block.AttachDisk($"ram{i}", new RamDiskModel(), new MemoryBlockStore(16L << 20),
            new DiskOptions { IrqCpu = i, SharedIoRequestLock = shared })).ToList();
        var tasks = Enumerable.Range(0, 4).Select(i => k.Spawn($"writer{i}", async self =>
        {
            long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(buf, i);
            int fd = (int)await self.Open($"/dev/ram{i}", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            for (int n = 0; n < writesPerCpu; n++)
            {
                (await self.Pwrite(fd, buf, Page, n % 1000 * Page)).Should().Be(Page);
            }
            await self.Exit(0);
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(i) })).ToList();
        foreach (var t in tasks)
        {
            k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
        }
        k.AssertInvariants();
        var locks = shared ? [k.Block.IoRequestLock] : disks.Select(d => d.Queue.QueueLock).ToArray();
        return (locks.Sum(l => l.Contentions), locks.Sum(l => l.SpinNs), disks.Sum(d => d.Stats.Ios[1]), k.Now);
    }

    [Test]
    public void AGlobalLockMakesFourCpusSpinWhereQueueLocksDoNot()
    {
        var perQueue = Run(shared: false);
        var global = Run(shared: true);
        perQueue.Ios.Should().Be(1200);
        global.Ios.Should().Be(1200);
        global.Contentions.Should().BeGreaterThan(10, "four CPUs queue and complete I/O under one lock");
        global.SpinNs.Should().BeGreaterThan(10 * Math.Max(1, perQueue.SpinNs));
        TestContext.Out.WriteLine($"per-queue: {perQueue}; global: {global}");
    }
}
