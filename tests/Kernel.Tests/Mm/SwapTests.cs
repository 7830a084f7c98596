using FluentAssertions;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
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
        bool exited = k.RunUntilExit(t, maxNs);
        if (!exited)
        {
            TestContext.Out.WriteLine(string.Join("\n", k.Memory.Oom.Log));
            TestContext.Out.WriteLine($"unused {k.Memory.Swap.UnusedPages} inuse {k.Memory.Swap.Areas.Sum(x => x.InusePages)} free {k.Memory.Zones.Sum(z => z.FreePages)} now {k.Machine.Now}");
            foreach (var task in k.Machine.Tasks)
            {
                TestContext.Out.WriteLine($"{task.Pid} {task.Comm} {task.State} flags {task.Flags} tif {task.ThreadFlags}");
            }
        }
        exited.Should().BeTrue();
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
        long tracedOut = 0, tracedIn = 0, evictedAnon = 0, outOfRange = 0;
        var tp = k.Memory.Tracepoints;
        tp.SwapOut.Fired += e => tracedOut++;
        tp.SwapIn.Fired += e => { tracedIn++; outOfRange += e.Offset is > 0 and <= 64 * MemoryLayout.MiB / Page ? 0 : 1; };
        tp.Evict.Fired += e => evictedAnon += e.Anon ? 1 : 0;
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
        (tracedOut, tracedIn).Should().Be((vm["pswpout"], vm["pswpin"]), "mm_swap_out and mm_swap_in fire once per page I/O");
        outOfRange.Should().Be(0, "each names a slot of the area");
        evictedAnon.Should().BePositive("mm_vmscan_page_evict fires for the swapped pages reclaim freed")
            .And.BeLessThanOrEqualTo(tracedOut + tracedIn, "an evicted swap page was written out, or read back in clean and dropped again");
        (majAfter - majBefore).Should().BePositive("reading the pages back faulted them in from swap");
        k.Memory.Reclaim!.VmscanWrite.Should().BePositive("reclaim wrote the dirty anonymous pages (pageout through swap_writepage)");
        k.Memory.PgRotated.Should().BePositive("a page reclaim wrote goes to the inactive tail when its write ends");
        k.Memory.Swap.Areas.Single().InusePages.Should().Be(k.Memory.Swap.TotalSwapcachePages, "the exit freed every entry but those of pages still being written");
    }

    /// <summary>Write the pattern (two words a page) over `pages` pages at `a`.</summary>
    private static async ValueTask Fill(Kernel.Syscalls.UserTask self, long a, long pages, long seed)
    {
        for (long i = 0; i < pages; i++)
        {
            await self.Store(a + i * Page, Word(i, seed));
            await self.Store(a + i * Page + Page - 8, ~Word(i, seed));
        }
    }

    /// <summary>Pages `start` to `pages` at `a` whose pattern is not `seed`'s.</summary>
    private static async ValueTask<long> Check(Kernel.Syscalls.UserTask self, long a, long pages, long seed, long start = 0)
    {
        long bad = 0;
        for (long i = start; i < pages; i++)
        {
            if (await self.Load<long>(a + i * Page) != Word(i, seed) || await self.Load<long>(a + i * Page + Page - 8) != ~Word(i, seed))
            {
                bad++;
            }
        }
        return bad;
    }

    [Test]
    public void SwapEntriesSurviveForkAndEachSideCopiesOnWrite()
    {
        var k = BootWithSwap(memMb: 24, swapMb: 64);
        const long size = 32 * MemoryLayout.MiB;
        long pages = size / Page;
        long parentBad = -1, childBad = -1, childOwnBad = -1, sharedUses = 0;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 7);
            // Swap entries shared by parent and child count two uses.
            sharedUses = 0;
            int pid = (int)await self.Fork(async child =>
            {
                var area = k.Memory.Swap.Areas.Single();
                for (long off = 1; off < area.Max; off++)
                {
                    if (area.UseCount(off) >= 2)
                    {
                        sharedUses++;
                    }
                }
                childBad = await Check(child, a, pages, seed: 7);
                await Fill(child, a, pages / 2, seed: 8); // the child's own copy of the first half
                childOwnBad = await Check(child, a, pages / 2, seed: 8);
                await child.Exit(0);
            });
            (await self.Wait4(pid)).Status.Should().Be(0);
            parentBad = await Check(self, a, pages, seed: 7);
            await self.Exit(0);
        });
        sharedUses.Should().BeGreaterThan(pages / 4, "the parent's swapped pages are named by the child's PTEs too");
        childBad.Should().Be(0);
        childOwnBad.Should().Be(0);
        parentBad.Should().Be(0, "the child's writes went to copies");
        k.Memory.Swap.Areas.Single().InusePages.Should().Be(k.Memory.Swap.TotalSwapcachePages);
    }

    [Test]
    public void SwapoffBringsEveryPageBackInEveryStateWhenTheyFit()
    {
        var k = BootWithSwap(memMb: 32, swapMb: 64);
        const long size = 48 * MemoryLayout.MiB;
        long pages = size / Page, keep = 16 * MemoryLayout.MiB / Page;
        long swapoff = -1, bad = -1, childBad = -1, usedBefore = 0, named = 0, startNs = 0, endNs = 0, unused = 0;
        int shared = 0, cachedMapped = 0, cachedOnly = 0, underWriteback = 0;
        bool childReady = false, childGo = false;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 3);
            // Free most of it: what is left (16 MB) fits in memory again, part of it in swap.
            (await self.Munmap(a + keep * Page, size - keep * Page)).Should().Be(0);
            // A child shares the swap entries (count 2); reading a few pages back leaves them in
            // the swap cache, mapped, with their neighbours read ahead (cached, unmapped).
            int pid = (int)await self.Fork(async child =>
            {
                childReady = true;
                while (!childGo)
                {
                    await child.Nanosleep(1_000_000);
                }
                childBad = await Check(child, a, keep, seed: 3);
                await child.Exit(0);
            });
            while (!childReady)
            {
                await self.Nanosleep(1_000_000);
            }
            for (long i = 0; i < keep; i += 64)
            {
                await self.Load<long>(a + i * Page);
            }
            var area = k.Memory.Swap.Areas.Single();
            for (long off = 1; off < area.Max; off++)
            {
                shared += area.UseCount(off) >= 2 ? 1 : 0;
                bool cached = k.Memory.Swap.SwapperSpace.FindPage(SwpEntry.Make(area.Type, off).Val) >= 0;
                named += area.UseCount(off) > (cached ? 1 : 0) ? 1 : 0;
            }
            foreach (var (_, pfn) in k.Memory.Swap.SwapperSpace.PageTree)
            {
                ref var pg = ref k.Memory.PageAt(pfn);
                cachedMapped += pg.MapCount >= 0 ? 1 : 0;
                cachedOnly += pg.MapCount < 0 ? 1 : 0;
                underWriteback += pg.Test(PageFlag.PG_writeback) ? 1 : 0;
            }
            usedBefore = area.InusePages;
            startNs = k.Machine.Now;
            long unusedBefore = k.Memory.Swap.UnusedPages;
            swapoff = await self.Swapoff("/dev/sdb");
            endNs = k.Machine.Now;
            unused = k.Memory.Swap.UnusedPages - unusedBefore;
            bad = await Check(self, a, keep, seed: 3);
            childGo = true;
            (await self.Wait4(pid)).Status.Should().Be(0);
            await self.Exit(0);
        });
        TestContext.Out.WriteLine($"before swapoff: {usedBefore} in use, {shared} shared, {cachedMapped} cached and mapped, {cachedOnly} cached only, {underWriteback} under writeback");
        TestContext.Out.WriteLine($"swapoff of {usedBefore} pages took {(endNs - startNs) / 1e6:F1} ms simulated");
        swapoff.Should().Be(0);
        shared.Should().BePositive();
        cachedMapped.Should().BePositive();
        cachedOnly.Should().BePositive();
        underWriteback.Should().BePositive("swapoff right after the fill finds writes in flight");
        unused.Should().BeInRange(named, usedBefore, "every page a PTE named came back (entries only the swap cache held may be freed by reclaim meanwhile)");
        bad.Should().Be(0);
        childBad.Should().Be(0);
        k.Memory.Swap.UnusePtesCharged.Should().BeGreaterThan(unused, "each entry brought back cost a walk over the page tables that could name it");
        k.Memory.Swap.Areas.Should().BeEmpty();
        k.Proc.Read("/proc/swaps").Should().Be("Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n");
    }

    [Test]
    public void SwapoffThatCannotFitEndsWithoutLosingAByteAndTheAreaStaysInUse()
    {
        var k = BootWithSwap(memMb: 16, swapMb: 64);
        const long size = 32 * MemoryLayout.MiB;
        long pages = size / Page;
        long swapoff = 0, bad = -1;
        bool swapOn = false, filled = false, done = false;
        var holder = k.Spawn("holder", async self =>
        {
            while (!swapOn)
            {
                await self.Nanosleep(1_000_000);
            }
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 5);
            filled = true;
            while (!done)
            {
                await self.Nanosleep(10_000_000);
            }
            bad = await Check(self, a, pages, seed: 5);
            await self.Exit(0);
        });
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            swapOn = true;
            while (!filled)
            {
                await self.Nanosleep(10_000_000);
            }
            int pid = (int)await self.Fork(async child =>
            {
                await child.Exit((int)-await child.Swapoff("/dev/sdb"));
            });
            var st = await self.Wait4(pid);
            swapoff = st.Status;
            TestContext.Out.WriteLine($"swapoff child: exited {st.WIFEXITED} errno {st.WEXITSTATUS} signal {st.WTERMSIG}");
            done = true;
            await self.Exit(0);
        });
        k.RunUntilExit(holder, 600_000_000_000).Should().BeTrue();
        k.AssertInvariants();
        // The swapoff task is the OOM killer's first choice (PF_SWAPOFF), or its allocation fails.
        swapoff.Should().NotBe(0);
        k.Memory.Swap.Areas.Should().ContainSingle("the area went back into use");
        bad.Should().Be(0, "no page of the holder was lost");
        k.Memory.Oom.Log.Should().NotContain(l => l.Contains("(holder)") && l.StartsWith("Killed", StringComparison.Ordinal));
    }

    [Test]
    public void PageClusterSetsTheSwapReadahead()
    {
        long Readahead(int cluster)
        {
            var k = BootWithSwap(memMb: 24, swapMb: 64);
            k.Proc.Write("/proc/sys/vm/page-cluster", cluster.ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be(0);
            const long size = 32 * MemoryLayout.MiB;
            long pages = size / Page, maj = 0, inBefore = 0, inAfter = 0;
            Run(k, async self =>
            {
                (await self.Swapon("/dev/sdb")).Should().Be(0);
                long a = await self.Mmap(0, size, RW, Anon);
                await Fill(self, a, pages, seed: 1);
                long majBefore = k.Memory.PgMajFault;
                inBefore = k.Memory.Swap.PswpIn;
                (await Check(self, a, pages, seed: 1)).Should().Be(0);
                maj = k.Memory.PgMajFault - majBefore;
                inAfter = k.Memory.Swap.PswpIn;
                await self.Exit(0);
            });
            (inAfter - inBefore).Should().BeGreaterThanOrEqualTo(maj);
            return maj;
        }
        long none = Readahead(0), eight = Readahead(3);
        none.Should().BePositive();
        eight.Should().BeLessThan(none / 3, "one fault reads eight pages that were swapped out together");
        var k2 = KernelBuilder.New().Boot();
        k2.Proc.Write("/proc/sys/vm/page-cluster", "-1").Should().Be(Errno.EINVAL.Ret());
        k2.Proc.Read("/proc/sys/vm/page-cluster").Should().Be("3\n");
    }

    [Test]
    public void WithSwapFullTheOomKillerTakesTheEaterAndTheMachineGoesOn()
    {
        var k = BootWithSwap(memMb: 16, swapMb: 8);
        var eater = k.Spawn("eater", async self =>
        {
            long a = await self.Mmap(0, 64 * MemoryLayout.MiB, RW, Anon);
            await self.Touch(a, 64 * MemoryLayout.MiB, write: true);
            await self.Exit(0);
        });
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            await self.Nanosleep(1_000_000);
            await self.Exit(0);
        });
        k.RunUntilExit(eater, 600_000_000_000).Should().BeTrue();
        eater.ExitCode.Should().Be(Kernel.Process.Signals.SIGKILL);
        k.Memory.Oom.Log.Should().Contain(l => l.Contains("Killed process") && l.Contains("(eater)"));
        k.Memory.Swap.Areas.Single().InusePages.Should().Be(k.Memory.Swap.TotalSwapcachePages, "the victim's entries were freed at its exit");
        k.AssertInvariants();
    }

    [Test]
    public void MeminfoAndSwapsShowWhatIsInSwapAndInTheSwapCache()
    {
        var k = BootWithSwap(memMb: 24, swapMb: 64);
        string meminfo = "", swaps = "";
        long inuse = 0;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, 32 * MemoryLayout.MiB, RW, Anon);
            await Fill(self, a, 32 * MemoryLayout.MiB / Page, seed: 2);
            // Read a quarter back: those pages stay in the swap cache (swap is far from full).
            (await Check(self, a, 8 * MemoryLayout.MiB / Page, seed: 2)).Should().Be(0);
            meminfo = k.Proc.Read("/proc/meminfo")!;
            swaps = k.Proc.Read("/proc/swaps")!;
            inuse = k.Memory.Swap.Areas.Single().InusePages;
            await self.Exit(0);
        });
        long Kb(string key) => long.Parse(meminfo.Split('\n').Single(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Kb("SwapCached").Should().BePositive();
        Kb("SwapFree").Should().Be(Kb("SwapTotal") - inuse * 4);
        swaps.Should().Contain($"\t{inuse * 4}\t-1");
        // What exit leaves in the swap cache are the pages whose swap writes were still in flight:
        // nothing maps them and only the cache uses their entries, until reclaim frees them.
        var area = k.Memory.Swap.Areas.Single();
        foreach (var (key, pfn) in k.Memory.Swap.SwapperSpace.PageTree)
        {
            k.Memory.PageAt(pfn).MapCount.Should().Be(-1);
            area.UseCount(new SwpEntry((uint)key).Offset).Should().Be(1);
        }
        area.InusePages.Should().Be(k.Memory.Swap.TotalSwapcachePages);
    }

    [Test]
    public void SwapoffOfOneAreaMovesItsPagesToTheOtherWhenMemoryIsShort()
    {
        var k = BootWithSwap(memMb: 16, swapMb: 64);
        long pages2 = 64 * MemoryLayout.MiB / Page;
        var store = new MemoryBlockStore(pages2 * Page);
        store.Write(0, SwapHeader.Make(pages2));
        k.Block.AttachDisk("sdc", new SsdDisk(), store);
        const long size = 32 * MemoryLayout.MiB;
        long pages = size / Page, swapoff = -1, bad = -1, onB = 0, onC = 0;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb", SwapAreas.SWAP_FLAG_PREFER | 10)).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 9);
            onB = k.Memory.Swap.Areas.Single().InusePages;
            (await self.Swapon("/dev/sdc", SwapAreas.SWAP_FLAG_PREFER | 1)).Should().Be(0);
            swapoff = await self.Swapoff("/dev/sdb");
            onC = k.Memory.Swap.Areas.Single().InusePages;
            bad = await Check(self, a, pages, seed: 9);
            await self.Exit(0);
        });
        onB.Should().BeGreaterThan(16 * MemoryLayout.MiB / Page / 2);
        swapoff.Should().Be(0, "what did not fit went out again, to the other area");
        onC.Should().BePositive();
        bad.Should().Be(0);
        k.Memory.Swap.Areas.Single().Name.Should().Be("/dev/sdc");
    }

    [Test]
    public void AWriteToAPageReadBackFromSwapIsNotLostWhenItGoesOutAgain()
    {
        // Read faults map swapped-in pages read-only and keep their swap copy; a later write must
        // dirty the page so that the next swap-out writes it instead of trusting the stale copy.
        var k = BootWithSwap(memMb: 24, swapMb: 64);
        const long size = 32 * MemoryLayout.MiB;
        long pages = size / Page, bad = -1;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 1);
            (await Check(self, a, pages, seed: 1)).Should().Be(0); // every page read back once
            await Fill(self, a, pages, seed: 2);                   // then overwritten
            bad = await Check(self, a, pages, seed: 2);
            await self.Exit(0);
        });
        bad.Should().Be(0);
    }

    [Test]
    public void AFailedSwapWriteKeepsThePageAndAFailedSwapReadIsSigbus()
    {
        var k = BootWithSwap(memMb: 24, swapMb: 64);
        var driver = k.Block.DriverOf(k.Block.Disks.Single(d => d.Name == "sdb"));
        for (long off = 64; off < 4096; off += 97)
        {
            driver.FailSector(off * 8); // pages of swap that cannot be written
        }
        const long size = 32 * MemoryLayout.MiB;
        long pages = size / Page, bad = -1;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 4);
            bad = await Check(self, a, pages, seed: 4);
            await self.Exit(0);
        });
        bad.Should().Be(0, "a page whose write failed stays dirty in memory");
        k.Memory.Swap.Log.Should().Contain(l => l.StartsWith("Write-error on swap-device", StringComparison.Ordinal));

        // Now a page that is only in swap cannot be read back: the access is SIGBUS.
        var k2 = BootWithSwap(memMb: 24, swapMb: 64);
        var driver2 = k2.Block.DriverOf(k2.Block.Disks.Single(d => d.Name == "sdb"));
        var reader = k2.Spawn("reader", async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long a = await self.Mmap(0, size, RW, Anon);
            await Fill(self, a, pages, seed: 4);
            var area = k2.Memory.Swap.Areas.Single();
            for (long off = 1; off < area.Max; off++)
            {
                if (area.UseCount(off) == 1 && k2.Memory.Swap.SwapperSpace.FindPage(SwpEntry.Make(area.Type, off).Val) < 0)
                {
                    driver2.FailSector(off * 8);
                }
            }
            await Check(self, a, pages, seed: 4);
            await self.Exit(0);
        });
        k2.RunUntilExit(reader, 600_000_000_000).Should().BeTrue();
        (reader.ExitCode & 0x7f).Should().Be(Kernel.Process.Signals.SIGBUS, "killed by SIGBUS (with its core-dump bit)");
        k2.Memory.Swap.Log.Should().Contain(l => l.StartsWith("Read-error on swap-device", StringComparison.Ordinal));
        k2.AssertInvariants();
    }

    [Test]
    public void TheSwapExampleInMmMdRunsAsWritten()
    {
        // docs/mm.md, "Swapping anonymous pages", as written there (but for the asserts).
        var k = KernelBuilder.New().Memory(32 * MemoryLayout.MiB).Boot();
        var store = new MemoryBlockStore(64L << 20);
        store.Write(0, SwapHeader.Make((64L << 20) / MemoryLayout.PAGE_SIZE)); // mkswap
        k.Block.AttachDisk("sdb", new SsdDisk(), store);
        var t = k.Spawn("big", async self =>
        {
            await self.Swapon("/dev/sdb");
            long a = await self.Mmap(0, 48L << 20, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Touch(a, 48L << 20, write: true);   // 16 MB more than the machine has
            await self.Exit(0);
        });
        k.RunUntilExit(t);
        string line = k.Proc.Read("/proc/vmstat")!.Split('\n').First(l => l.StartsWith("pswpout"));
        t.ExitCode.Should().Be(0);
        long.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThan(16 * MemoryLayout.MiB / Page);
        k.AssertInvariants();
    }

    [Test]
    public void TmpfsFilesAndSharedMemoryLargerThanMemoryGoToSwapAndComeBack()
    {
        var k = BootWithSwap(memMb: 24, swapMb: 96);
        const long size = 32 * MemoryLayout.MiB;
        long pages = size / Page, fileBad = -1, sharedBad = -1, childBad = -1, swappedFile = 0, swappedShared = 0;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            // A tmpfs file written with write(2) and read back with read(2).
            long buf = await self.Mmap(0, Page, RW, Anon);
            int fd = (int)await self.Open("/big", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            for (long i = 0; i < pages; i++)
            {
                await self.Store(buf, Word(i, 11));
                await self.Store(buf + Page - 8, ~Word(i, 11));
                (await self.Pwrite(fd, buf, Page, i * Page)).Should().Be(Page);
            }
            swappedFile = k.Memory.Shmem.SwappedPages;
            fileBad = 0;
            for (long i = 0; i < pages; i++)
            {
                (await self.Pread(fd, buf, Page, i * Page)).Should().Be(Page);
                if (await self.Load<long>(buf) != Word(i, 11) || await self.Load<long>(buf + Page - 8) != ~Word(i, 11))
                {
                    fileBad++;
                }
            }
            await self.Close(fd);
            (await self.Unlink("/big")).Should().Be(0);
            // Shared anonymous memory (a tmpfs file underneath), shared with a child.
            long a = await self.Mmap(0, size, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            await Fill(self, a, pages, seed: 12);
            swappedShared = k.Memory.Shmem.SwappedPages;
            int pid = (int)await self.Fork(async child =>
            {
                childBad = await Check(child, a, pages, seed: 12);
                await Fill(child, a, pages / 4, seed: 13); // the parent sees these: the memory is shared
                await child.Exit(0);
            });
            (await self.Wait4(pid)).Status.Should().Be(0);
            sharedBad = await Check(self, a, pages / 4, seed: 13) + await Check(self, a, pages, seed: 12, start: pages / 4);
            await self.Exit(0);
        });
        swappedFile.Should().BePositive("the tmpfs file did not fit");
        fileBad.Should().Be(0);
        swappedShared.Should().BePositive("the shared mapping did not fit");
        childBad.Should().Be(0);
        sharedBad.Should().Be(0);
        k.Memory.Shmem.SwappedPages.Should().Be(0, "unlink and exit freed the files' swap");
    }

    [Test]
    public void SwapoffBringsTmpfsPagesBackIntoTheirFiles()
    {
        var k = BootWithSwap(memMb: 32, swapMb: 64);
        const long size = 40 * MemoryLayout.MiB;
        long pages = size / Page, keep = 12 * MemoryLayout.MiB / Page, swappedBefore = 0, swapoff = -1, bad = -1;
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb")).Should().Be(0);
            long buf = await self.Mmap(0, Page, RW, Anon);
            int fd = (int)await self.Open("/shm", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            for (long i = 0; i < pages; i++)
            {
                await self.Store(buf, Word(i, 21));
                (await self.Pwrite(fd, buf, Page, i * Page)).Should().Be(Page);
            }
            (await self.Ftruncate(fd, keep * Page)).Should().Be(0); // frees the swap of the pages past 12 MB
            swappedBefore = k.Memory.Shmem.SwappedPages;
            swapoff = await self.Swapoff("/dev/sdb");
            bad = 0;
            for (long i = 0; i < keep; i++)
            {
                (await self.Pread(fd, buf, 8, i * Page)).Should().Be(8);
                bad += await self.Load<long>(buf) != Word(i, 21) ? 1 : 0;
            }
            await self.Close(fd);
            await self.Exit(0);
        });
        swappedBefore.Should().BePositive();
        swappedBefore.Should().BeLessThanOrEqualTo(keep, "truncation freed the entries past the new size");
        swapoff.Should().Be(0);
        k.Memory.Shmem.SwappedPages.Should().Be(0);
        bad.Should().Be(0);
    }

    [Test]
    public void AreasOfEqualPriorityShareTheSwapOutsAndALowerOneWaits()
    {
        var k = BootWithSwap(memMb: 16, swapMb: 64);
        foreach (var name in new[] { "sdc", "sdd" })
        {
            long pages = 64 * MemoryLayout.MiB / Page;
            var store = new MemoryBlockStore(pages * Page);
            store.Write(0, SwapHeader.Make(pages));
            k.Block.AttachDisk(name, new SsdDisk(), store);
        }
        var used = new Dictionary<string, long>();
        Run(k, async self =>
        {
            (await self.Swapon("/dev/sdb", SwapAreas.SWAP_FLAG_PREFER | 5)).Should().Be(0);
            (await self.Swapon("/dev/sdc", SwapAreas.SWAP_FLAG_PREFER | 5)).Should().Be(0);
            (await self.Swapon("/dev/sdd", SwapAreas.SWAP_FLAG_PREFER | 1)).Should().Be(0);
            long a = await self.Mmap(0, 32 * MemoryLayout.MiB, RW, Anon);
            await Fill(self, a, 32 * MemoryLayout.MiB / Page, seed: 6);
            foreach (var area in k.Memory.Swap.Areas)
            {
                used[area.Name] = area.InusePages;
            }
            await self.Exit(0);
        });
        used["/dev/sdb"].Should().BePositive();
        used["/dev/sdc"].Should().BePositive("an area of the same priority takes its turn");
        Math.Abs(used["/dev/sdb"] - used["/dev/sdc"]).Should().BeLessThan((used["/dev/sdb"] + used["/dev/sdc"]) / 2);
        used["/dev/sdd"].Should().Be(0, "a lower priority is used only when the higher ones are full");
    }
}
