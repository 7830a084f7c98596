using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Vmscan;
using Kernel.Tests.Mm;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Vmscan;

/// <summary>2.4.10's VM (Arcangeli) behind the replacement-policy ops table (seed 000, 2.4.17 mm/vmscan.c).</summary>
[Parallelizable(ParallelScope.All)]
public class Vm2410Tests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static void Run(LinuxKernel k, UserProgram body)
    {
        var t = k.Spawn("prog", body);
        k.RunUntilExit(t, 600_000_000_000).Should().BeTrue();
        t.ExitCode.Should().Be(0, string.Join("; ", k.Memory.Oom.Log));
        k.AssertInvariants();
    }

    [Test]
    public void TheActiveListIsKeptAtTwoThirdsOfTheCache()
    {
        // A working set larger than two thirds of memory, read twice (so promoted) and then reread
        // in turn while a stream goes through the cache once: 2.4.10's refill_inactive moves
        // active pages down until the active list is about two thirds of the cache, a referenced
        // one rotating; 2.6.20 deactivates unmapped pages whether referenced or not.
        (double share, long refilled) Scenario(string policy)
        {
            var k = KernelBuilder.New().Memory(32 * MemoryLayout.MiB).Hz(1000).Boot();
            k.Block.AttachDisk("sda", new RamDiskModel(), new MemoryBlockStore(96 * MemoryLayout.MiB));
            k.Proc.Write("/proc/sys/vm/page_replacement", policy).Should().Be(0);
            double share = 0;
            Run(k, async self =>
            {
                long buf = await self.Mmap(0, 64 * Page, RW, Anon);
                int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
                const long ws = 6400 * Page; // more than two thirds of what the cache can hold
                for (int pass = 0; pass < 2; pass++)
                {
                    for (long off = 0; off < ws; off += 64 * Page)
                    {
                        (await self.Pread(fd, buf, 64 * Page, off)).Should().Be(64 * Page);
                    }
                }
                long w = 0;
                for (long off = 32 * MemoryLayout.MiB; off < 64 * MemoryLayout.MiB; off += 16 * Page)
                {
                    (await self.Pread(fd, buf, 16 * Page, off)).Should().Be(16 * Page); // the stream
                    (await self.Pread(fd, buf, 64 * Page, w)).Should().Be(64 * Page); // and the working set, reread in turn
                    w = (w + 64 * Page) % ws;
                }
                k.Memory.LruAddDrainAll();
                long active = k.Memory.Zones.Sum(z => z.NrActive), inactive = k.Memory.Zones.Sum(z => z.NrInactive);
                share = (double)active / (active + inactive);
                await self.Exit(0);
            });
            return (share, (k.Memory.Reclaim!.Ops as Vm2410)?.Refilled ?? 0);
        }
        var andrea = Scenario("2.4.10");
        var lru = Scenario("lru");
        TestContext.Out.WriteLine($"active share: 2.4.10 {andrea.share:P1} ({andrea.refilled} refilled), 2.6.20 {lru.share:P1}");
        andrea.refilled.Should().BePositive();
        andrea.share.Should().BeInRange(0.55, 0.72, "refill_inactive's ratio holds the active list near two thirds");
        lru.share.Should().BeLessThan(andrea.share, "2.6.20's shrink_active_list deactivates every unmapped page it scans, referenced or not");
    }

    [Test]
    public void AnonymousMemoryLargerThanRamGoesOutThroughThePageTableScanAndComesBackIntact()
    {
        var k = SwapTests.BootWithSwap(memMb: 32, swapMb: 64);
        k.Proc.Write("/proc/sys/vm/page_replacement", "2.4.10").Should().Be(0);
        var vm = (Vm2410)k.Memory.Reclaim!.Ops;
        long pages = 40 * MemoryLayout.MiB / Page, bad = -1;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long b = await self.Mmap(0, pages * Page, RW, Anon);
            for (long i = 0; i < pages; i++)
            {
                await self.Store(b + i * Page, i ^ 0x2410);
            }
            bad = 0;
            for (long i = 0; i < pages; i++)
            {
                bad += await self.Load<long>(b + i * Page) == (i ^ 0x2410) ? 0 : 1;
            }
            await self.Exit(0);
        });
        TestContext.Out.WriteLine($"refilled {vm.Refilled}, written {vm.Written}, freed {vm.Freed}, swap_out calls {vm.SwapOutCalls}, PTEs visited {k.Memory.SwapOut24.PtesVisited}");
        bad.Should().Be(0);
        vm.SwapOutCalls.Should().BePositive("mapped pages on the inactive list start the page-table scan");
        vm.Written.Should().BePositive("dirty swap cache pages are written as shrink_cache meets them");
        vm.Freed.Should().BePositive();
        SwapTests.Vmstat(k)["pswpout"].Should().BeGreaterThan(8 * MemoryLayout.MiB / Page);
    }
}
