using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Mm.Swap;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>Swapping anonymous pages out and in (mm/swap_state.c, mm/swapfile.c, mm/page_io.c, do_swap_page).</summary>
[Parallelizable(ParallelScope.All)]
public class SwapTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    /// <summary>A machine of `memMb` MB with a swap disk of `swapMb` MB, enabled by root before `body` runs.</summary>
    internal static LinuxKernel BootWithSwap(long memMb, long swapMb, string disk = "sdb")
    {
        var k = KernelBuilder.New().Memory(memMb * MemoryLayout.MiB).Hz(1000).Boot();
        k.Proc.Write("/proc/sys/vm/overcommit_memory", "1").Should().Be(0);
        long pages = swapMb * MemoryLayout.MiB / Page;
        var store = new MemoryBlockStore(pages * Page);
        store.Write(0, SwapHeader.Make(pages));
        k.Block.AttachDisk(disk, new SsdDisk(), store);
        return k;
    }

    private static void Run(LinuxKernel k, UserProgram body, long maxNs = 600_000_000_000)
    {
        var t = k.Spawn("prog", body);
        k.RunUntilExit(t, maxNs).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    /// <summary>/proc/vmstat as name -> value.</summary>
    internal static Dictionary<string, long> Vmstat(LinuxKernel k) =>
        k.Proc.Read("/proc/vmstat")!.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(f => f[0], f => long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The word a page of the test pattern starts with: its index mixed with a seed.</summary>
    private static long Word(long i, long seed) => unchecked(i * (long)0x9E3779B97F4A7C15UL) ^ seed;

    [Test]
    public void AProgramLargerThanMemoryRunsOnSwapAndEveryByteComesBack()
    {
        var k = BootWithSwap(memMb: 32, swapMb: 64);
        const long size = 48 * MemoryLayout.MiB;
        long pages = size / Page, bad = -1, majBefore = 0, majAfter = 0;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            for (long i = 0; i < pages; i++)
            {
                await self.Store(a + i * Page, Word(i, 1));
                await self.Store(a + i * Page + Page - 8, ~Word(i, 1));
            }
            majBefore = k.Memory.PgMajFault;
            bad = 0;
            for (long i = 0; i < pages; i++)
            {
                if (await self.Load<long>(a + i * Page) != Word(i, 1) || await self.Load<long>(a + i * Page + Page - 8) != ~Word(i, 1))
                {
                    bad++;
                }
            }
            majAfter = k.Memory.PgMajFault;
            await self.Exit(0);
        });
        bad.Should().Be(0);
        var vm = Vmstat(k);
        vm["pswpout"].Should().BeGreaterThan(16 * MemoryLayout.MiB / Page, "at least what did not fit went out");
        vm["pswpin"].Should().BePositive();
        (majAfter - majBefore).Should().BePositive("reading the pages back faulted them in from swap");
        k.Memory.Swap.Areas.Single().InusePages.Should().Be(0, "the exit freed every swap entry");
    }
}
