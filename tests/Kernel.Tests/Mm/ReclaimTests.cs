using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>The 2.6.20 LRU lists and page reclaim (mm/swap.c, mm/vmscan.c): promotion, kswapd, direct reclaim, pageout.</summary>
[Parallelizable(ParallelScope.All)]
public class ReclaimTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static void Run(LinuxKernel k, UserProgram body, long maxNs = 600_000_000_000)
    {
        var t = k.Spawn("prog", body);
        k.RunUntilExit(t, maxNs).Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
    }

    [Test]
    public void AFilePageIsPromotedOnItsSecondTouchAndNewAnonymousPagesStartActive()
    {
        var k = KernelBuilder.New().Boot();
        var mem = k.Memory;
        var states = new List<(bool Lru, bool Active, bool Referenced)>();
        int filePfn = -1, anonPfn = -1;
        (bool, bool, bool) State(int pfn)
        {
            ref var p = ref mem.PageAt(pfn);
            return (p.Test(PageFlag.PG_lru), p.Test(PageFlag.PG_active), p.Test(PageFlag.PG_referenced));
        }
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, Page, RW, Anon);
            int fd = (int)await self.Open("/f", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            (await self.Pwrite(fd, buf, Page, 0)).Should().Be(Page);
            filePfn = mem.Shmem.Names["/f"].Mapping.PageTree[0];
            mem.LruAddDrainAll();
            mem.PageAt(filePfn).Clear(PageFlag.PG_referenced); // the write's touch: start from a cold page
            states.Add(State(filePfn));
            int r1 = (int)await self.Open("/f", OpenFlags.O_RDONLY);
            int r2 = (int)await self.Open("/f", OpenFlags.O_RDONLY);
            (await self.Pread(r1, buf, 100, 0)).Should().Be(100);
            states.Add(State(filePfn));
            (await self.Pread(r1, buf, 100, 200)).Should().Be(100);
            states.Add(State(filePfn));
            (await self.Pread(r2, buf, 100, 0)).Should().Be(100);
            states.Add(State(filePfn));
            await self.Store(buf, 1);
            anonPfn = self.Mm!.Translate(buf, write: false);
            await self.Exit(0);
        });
        states.Should().Equal(
            (true, false, false),
            (true, false, true),
            (true, false, true),
            (true, true, false));
        states[2].Should().Be(states[1], "a read of the page the last read of that file ended in does not count again (f_ra.prev_page)");
        mem.PgActivate.Should().BePositive();
    }

    [Test]
    public void AnonymousPagesGoOnTheActiveListThroughThePagevec()
    {
        var k = KernelBuilder.New().Boot();
        var mem = k.Memory;
        long activeBefore = 0, inVecs = -1, activeAfter = 0;
        Run(k, async self =>
        {
            mem.LruAddDrainAll();
            activeBefore = mem.Zones.Sum(z => z.NrActive);
            long a = await self.Mmap(0, 40 * Page, RW, Anon);
            await self.Touch(a, 40 * Page, write: true);
            inVecs = mem.PagesInLruPagevecs;
            mem.LruAddDrainAll();
            activeAfter = mem.Zones.Sum(z => z.NrActive);
            k.Proc.Read("/proc/meminfo").Should().MatchRegex(@"Active:\s+[1-9]\d* kB");
            await self.Exit(0);
        });
        inVecs.Should().BeInRange(1, MemorySubsystem.PAGEVEC_SIZE - 1, "whole batches of 14 went onto the list, the rest wait");
        (activeAfter - activeBefore).Should().BeGreaterThanOrEqualTo(40);
    }

    /// <summary>A 32 MB machine with a 96 MB disk whose bytes are a known pattern.</summary>
    private static (LinuxKernel K, Gendisk Disk, MemoryBlockStore Store) Small()
    {
        var k = KernelBuilder.New().Memory(32 * MemoryLayout.MiB).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        var store = new MemoryBlockStore(96L << 20);
        var chunk = new byte[1 << 20];
        for (int mb = 0; mb < 96; mb++)
        {
            for (int i = 0; i < chunk.Length; i += 4096)
            {
                BitConverter.TryWriteBytes(chunk.AsSpan(i), mb * 256 + i / 4096);
            }
            store.Write((long)mb << 20, chunk);
        }
        var disk = k.Block.AttachDisk("sda", new SsdDisk(), store);
        return (k, disk, store);
    }

    [Test]
    public void ReadingMoreThanMemoryThroughThePageCacheReclaimsCleanPagesAndKswapdBalances()
    {
        var (k, disk, _) = Small();
        var mem = k.Memory;
        int wrong = 0, wakes = 0, sleeps = 0;
        long traced = 0;
        mem.Tracepoints.KswapdWake.Fired += _ => wakes++;
        mem.Tracepoints.KswapdSleep.Fired += _ => sleeps++;
        mem.Tracepoints.ShrinkInactive.Fired += e => traced += e.NrReclaimed;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 16 * Page, RW, Anon);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            for (long off = 0; off < (96L << 20); off += 16 * Page)
            {
                (await self.Read(fd, buf, 16 * Page)).Should().Be(16 * Page);
                for (int p = 0; p < 16; p++)
                {
                    long page = (off >> 12) + p;
                    if (await self.Load<int>(buf + p * Page) != (int)((page >> 8) * 256 + (page & 255)))
                    {
                        wrong++;
                    }
                }
            }
            await self.Close(fd);
            await self.Exit(0);
        });
        wrong.Should().Be(0, "every byte read is the disk's");
        var r = mem.Reclaim!;
        long steal = mem.Zones.Sum(z => z.PgSteal);
        TestContext.Out.WriteLine($"steal {steal} kswapd {r.KswapdSteal} wakeups {r.KswapdWakeups} runs {r.PageoutRun} allocstall {r.AllocStall} cached {mem.NrFilePages} free {mem.Zones.Sum(z => z.FreePages)}");
        steal.Should().BeGreaterThan(96L * 256 - mem.TotalRamPages, "the cache could not hold the disk: most of it was reclaimed");
        r.KswapdWakeups.Should().BePositive("allocations below pages_low woke kswapd");
        r.KswapdSteal.Should().BePositive();
        wakes.Should().Be((int)r.KswapdWakeups);
        sleeps.Should().BeGreaterThanOrEqualTo(wakes - 1, "each wake-up ends in a sleep (the last one may still be under way)");
        traced.Should().Be(mem.Zones.Sum(z => z.PgSteal), "mm_vmscan_lru_shrink_inactive reports every batch");
        mem.NrFilePages.Should().BeLessThan(mem.TotalRamPages);
        k.Block.BdevOf(disk).Mapping.NrPages.Should().Be(mem.NrFilePages - mem.Shmem.Inodes.Sum(i => i.Mapping.NrPages));
        k.RunUntil(() => r.Kswapd!.State == Kernel.Core.Tasks.TaskState.TASK_INTERRUPTIBLE, 2_000_000_000).Should().BeTrue();
        r.Kswapd!.State.Should().Be(Kernel.Core.Tasks.TaskState.TASK_INTERRUPTIBLE, "kswapd went back to sleep with its zones balanced");
        foreach (var z in mem.Zones.Where(z => z.PresentPages > 0 && z.NrInactive > 0))
        {
            z.FreePages.Should().BeGreaterThan(z.PagesMin, $"{z.Name} kept its reserve");
        }
        var vmstat = k.Proc.Read("/proc/vmstat")!;
        vmstat.Should().MatchRegex(@"pgsteal_\w+ [1-9]").And.MatchRegex(@"pgscan_kswapd_\w+ [1-9]").And.MatchRegex(@"kswapd_steal [1-9]").And.MatchRegex(@"pageoutrun [1-9]");
        k.Proc.Read("/proc/zoneinfo").Should().MatchRegex(@"inactive [1-9]");
        vmstat.Should().Contain("\npgalloc_high ").And.NotContain("highmem", "2.6.20 names the highmem counters _high");
    }

    [Test]
    public void DirtyPagesAreWrittenOutUnderPressureAndEveryByteReachesTheDisk()
    {
        var (k, disk, store) = Small();
        var mem = k.Memory;
        int writepages = 0;
        mem.Tracepoints.Writepage.Fired += e => writepages += e.Result == 0 ? 1 : 0;
        Run(k, async self =>
        {
            long buf = await self.Mmap(0, 16 * Page, RW, Anon);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
            for (long off = 0; off < (64L << 20); off += 16 * Page)
            {
                for (int p = 0; p < 16; p++)
                {
                    await self.Store(buf + p * Page, (int)(0x7000000 + (off >> 12) + p));
                }
                (await self.Write(fd, buf, 16 * Page)).Should().Be(16 * Page);
            }
            var (dirty, _) = mem.DirtyAndWriteback();
            dirty.Should().BePositive("the last writes are still in the cache");
            k.Proc.Read("/proc/meminfo").Should().Contain($"Dirty:        {dirty * 4,8} kB");
            (await self.Fsync(fd)).Should().Be(0);
            mem.DirtyAndWriteback().Should().Be((0L, 0L), "fsync wrote everything back and waited");
            await self.Close(fd);
            await self.Exit(0);
        });
        var r = mem.Reclaim!;
        var wb = mem.Writeback;
        TestContext.Out.WriteLine($"vmscan_write {r.VmscanWrite} rotated {mem.PgRotated} steal {mem.Zones.Sum(z => z.PgSteal)} balance {wb.BalanceDirtyWritten} pdflush {wb.PdflushWritten}");
        // 2.6.20 keeps dirty pages under dirty_ratio: the writer and pdflush write most of them
        // before reclaim reaches them (pageout of dirty pages is tested through swap).
        (wb.BalanceDirtyWritten + wb.PdflushWritten).Should().BePositive("the writer went over the dirty limits");
        writepages.Should().Be((int)r.VmscanWrite, "every reclaim write started is traced (a writepage that asks to be kept active is traced with its result)");
        var bytes = new byte[4];
        for (long page = 0; page < (64L << 20) / Page; page++)
        {
            store.Read(page * Page, bytes);
            BitConverter.ToInt32(bytes).Should().Be((int)(0x7000000 + page), $"page {page}");
        }
    }

    /// <summary>A process maps 8 MB of the disk and touches it once; another streams 64 MB through the cache. How much of the mapping stays mapped?</summary>
    private static long MappedPagesLeft(int swappiness)
    {
        var (k, _, _) = Small();
        k.Proc.Write("/proc/sys/vm/swappiness", swappiness.ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be(0);
        bool mapped = false, done = false;
        var mapper = k.Spawn("mapper", async self =>
        {
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            long a = await self.Mmap(0, 8L << 20, Prot.PROT_READ, MapFlags.MAP_SHARED, fd, 80L << 20);
            await self.Touch(a, 8L << 20, write: false);
            mapped = true;
            while (!done)
            {
                await self.Nanosleep(10_000_000);
            }
            await self.Exit(0);
        });
        k.RunUntil(() => mapped, 10_000_000_000).Should().BeTrue();
        var streamer = k.Spawn("streamer", async self =>
        {
            long buf = await self.Mmap(0, 16 * Page, RW, Anon);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY);
            for (long off = 0; off < (64L << 20); off += 16 * Page)
            {
                (await self.Read(fd, buf, 16 * Page)).Should().Be(16 * Page);
            }
            await self.Exit(0);
        });
        k.RunUntilExit(streamer, 600_000_000_000).Should().BeTrue();
        long left = k.MmOf(mapper)!.FileRss;
        done = true;
        k.RunUntilExit(mapper, 10_000_000_000).Should().BeTrue();
        k.AssertInvariants();
        return left;
    }

    [Test]
    public void SwappinessDecidesWhetherReclaimTakesMappedPagesOrOnlyTheCache()
    {
        long keep = MappedPagesLeft(0), take = MappedPagesLeft(100);
        TestContext.Out.WriteLine($"mapped pages left of 2048: swappiness 0 -> {keep}, 100 -> {take}");
        keep.Should().BeGreaterThan(1900, "with swappiness 0 reclaim_mapped stays off while the cache has pages to give");
        take.Should().BeLessThan(keep / 2, "with swappiness 100 mapped pages that are not used again are unmapped and freed");
    }

    [Test]
    public void SwappinessIsATunableFromZeroToOneHundred()
    {
        var k = KernelBuilder.New().BootForHostCalls();
        k.Proc.Read("/proc/sys/vm/swappiness").Should().Be("60\n");
        k.Proc.Write("/proc/sys/vm/swappiness", "101").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Write("/proc/sys/vm/swappiness", "0").Should().Be(0);
        k.Memory.Reclaim!.Swappiness.Should().Be(0);
    }

    [Test]
    public void WithReclaimOffThereIsNoKswapdAndNoDirectReclaim()
    {
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { Reclaim = false } }).BootForHostCalls();
        k.Memory.Reclaim.Should().BeNull();
        k.Memory.DirectReclaim.Should().BeNull();
        k.Tasks.Should().NotContain(t => t.Comm == "kswapd0");
        k.Proc.Read("/proc/sys/vm/swappiness").Should().BeNull();
    }
}
