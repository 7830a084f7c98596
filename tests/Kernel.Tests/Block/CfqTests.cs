using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>CFQ (cfq-iosched.c): per-process queues, time slices scaled by ioprio, idling, the idle class, its tunables, ioprio_set.</summary>
[Parallelizable(ParallelScope.All)]
public class CfqTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    private static LinuxKernel Boot(string elevator, out Gendisk disk, out RotationalDisk model)
    {
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        k.Machine.EnterHostContext();
        model = new RotationalDisk();
        disk = k.Block.AttachDisk("sda", model, new MemoryBlockStore(40L << 30), new DiskOptions { Elevator = elevator });
        return k;
    }

    /// <summary>A program that sets its I/O priority (when given) and reads pages one at a time with O_DIRECT from `start` until `untilNs` or `maxPages`; it records each completion time.</summary>
    private static UserProgram Reader(long start, int? ioprio, long untilNs, int maxPages, List<long> done) => async self =>
    {
        if (ioprio is { } prio)
        {
            (await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, prio)).Should().Be(0);
        }
        long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
        int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY | OpenFlags.O_DIRECT);
        for (int n = 0; n < maxPages && self.Now < untilNs; n++)
        {
            (await self.Pread(fd, buf, Page, start + n * Page)).Should().Be(Page);
            done.Add(self.Now);
        }
        await self.Close(fd);
        await self.Exit(0);
    };

    [Test]
    public void CfqIsTheDefaultAndItsTunablesAreInLinuxUnits()
    {
        var k = KernelBuilder.New().Hz(1000).BootForHostCalls();
        k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(1L << 20), new DiskOptions());
        k.Proc.Read("/sys/block/sda/queue/scheduler").Should().Be("noop anticipatory deadline [cfq] \n");
        string dir = "/sys/block/sda/queue/iosched/";
        var expected = new (string Name, string Value)[]
        {
            ("quantum", "4\n"), ("fifo_expire_sync", "125\n"), ("fifo_expire_async", "250\n"), ("back_seek_max", "16384\n"),
            ("back_seek_penalty", "2\n"), ("slice_sync", "100\n"), ("slice_async", "40\n"), ("slice_async_rq", "2\n"), ("slice_idle", "8\n"),
        };
        foreach (var (name, value) in expected)
        {
            k.Proc.Read(dir + name).Should().Be(value, name);
        }
        var cfq = (CfqElevator)k.Block.Find("sda")!.Queue.Elevator;
        k.Proc.Write(dir + "slice_sync", "200").Should().Be(0);
        cfq.Slice[1].Should().Be(200u, "milliseconds become jiffies at HZ=1000");
        k.Proc.Write(dir + "slice_idle", "0").Should().Be(0, "0 turns idling off");
        cfq.SliceIdle.Should().Be(0u);
        k.Proc.Write(dir + "quantum", "0").Should().Be(Errno.EINVAL.Ret(), "quantum is at least 1");
        k.Proc.Write(dir + "back_seek_penalty", "zero").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Read(dir + "quantum").Should().Be("4\n", "a refused write changes nothing");
    }

    [Test]
    public void DispatchFollowsChooseReqFromTheHeadWithShortBackSeeksPenalisedAndSyncFirst()
    {
        var k = KernelBuilder.New().Hz(1000).BootForHostCalls();
        var q = BlockKit.Queue(k, "cfq");
        var cfq = (CfqElevator)q.Elevator;
        cfq.Attributes.Single(a => a.Name == "quantum").Store!("1").Should().Be(0, "one request per round shows the scheduler's own order");
        foreach (long s in new long[] { 10000, 50000 })
        {
            BlockKit.Submit(q, BlockKit.NewBio(k, s, 8, write: true));
        }
        BlockKit.DrainOrder(q).Should().Equal(10000L, 50000L);
        cfq.LastSector.Should().Be(50008);
        // Behind the head at 50008: 49000 by 1008 sectors (cost 2016), 20000 by 30008 (within
        // back_seek_max's 32768 sectors, cost 60016), 1000 by 49008 (beyond: a wrap); 51000 ahead by 992.
        foreach (long s in new long[] { 49000, 51000, 20000, 1000 })
        {
            BlockKit.Submit(q, BlockKit.NewBio(k, s, 8, write: true));
        }
        BlockKit.DrainOrder(q).Should().Equal([51000L, 49000L, 20000L, 1000L], "deadline would sweep 51000 and wrap to 1000");
        // The host's reads and writes share one queue (pid 0 is also the async key); a sync request goes first however far.
        BlockKit.Submit(q, BlockKit.NewBio(k, 1100, 8, write: true));
        BlockKit.Submit(q, BlockKit.NewBio(k, 900000, 8, write: false));
        BlockKit.DrainOrder(q).Should().Equal(900000L, 1100L);
        cfq.CfqQueues.Should().ContainSingle().Which.Key.Should().Be(CfqElevator.CFQ_KEY_ASYNC);
        k.AssertInvariants();
    }

    [Test]
    public void AnAsyncQueueEndsItsSliceAfterItsRequestBudgetAndQuantumBoundsARound()
    {
        var k = KernelBuilder.New().Hz(1000).BootForHostCalls();
        var q = BlockKit.Queue(k, "cfq");
        var cfq = (CfqElevator)q.Elevator;
        for (int i = 0; i < 10; i++)
        {
            BlockKit.Submit(q, BlockKit.NewBio(k, 1000 * (i + 1), 8, write: true));
        }
        q.ElvNextRequest().Should().NotBeNull();
        q.DispatchCount.Should().Be(4, "quantum 4 per round");
        var cfqq = cfq.CfqQueues.Single();
        cfq.PrioToMaxrq(cfqq).Should().Be(4, "2 * (slice_async_rq + slice_async_rq * (7 - ioprio)) at ioprio 7 (the idle task's nice)");
        cfq.Slices.Should().Be(2, "an async queue's slice ends once it has dispatched its budget; still busy, it is picked for the next");
        cfq.DispatchSlice.Should().Be(0);
        cfq.PrioToSlice(cfqq).Should().Be(40 - 8 * 3, "slice_async less a fifth per level below 4");
        BlockKit.DrainOrder(q).Should().HaveCount(10);
        k.AssertInvariants();
    }

    [Test]
    public void SliceIdlingKeepsTheHeadWithOneReaderWhereDeadlineSeeksBetweenTwo()
    {
        var deadline = AnticipatoryTests.TwoReaders("deadline");
        var cfq = AnticipatoryTests.TwoReaders("cfq");
        var e = (CfqElevator)cfq.Elv;
        TestContext.Out.WriteLine($"deadline: {deadline.FirstDoneNs} {deadline.SecondDoneNs} seeks {deadline.Seeks}; cfq: {cfq.FirstDoneNs} {cfq.SecondDoneNs} seeks {cfq.Seeks} slices {e.Slices} idle waits {e.IdleWaits} timeouts {e.IdleTimeouts}");
        cfq.Seeks.Should().BeLessThan(deadline.Seeks / 4, "each reader keeps the disk for its slice, idling up to slice_idle between its reads");
        cfq.FirstDoneNs.Should().BeLessThan(deadline.FirstDoneNs / 2);
        cfq.SecondDoneNs.Should().BeLessThan(deadline.SecondDoneNs);
        e.IdleWaits.Should().BeGreaterThan(30, "the disk idled for the reader it just served");
        e.CfqQueues.Should().BeEmpty("both readers exited and their requests are done, so their queues are freed");
    }

    [Test]
    public void BestEffortLevelZeroGetsSeveralTimesTheDiskTimeOfLevelSeven()
    {
        var share = new Dictionary<string, (int High, int Low)>();
        foreach (var elevator in new[] { "deadline", "cfq" })
        {
            var k = Boot(elevator, out _, out _);
            var high = new List<long>();
            var low = new List<long>();
            const long until = 2_000_000_000;
            var a = k.Spawn("high", Reader(0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 0), until, int.MaxValue, high));
            var b = k.Spawn("low", Reader(20L << 30, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 7), until, int.MaxValue, low));
            k.RunUntilExit(a, 10_000_000_000).Should().BeTrue();
            k.RunUntilExit(b, 10_000_000_000).Should().BeTrue();
            k.AssertInvariants();
            share[elevator] = (high.Count, low.Count);
        }
        TestContext.Out.WriteLine(string.Join("; ", share.Select(s => $"{s.Key}: {s.Value.High} / {s.Value.Low} pages")));
        var (dh, dl) = share["deadline"];
        Math.Abs(dh - dl).Should().BeLessThan(Math.Max(dh, dl) / 5, "deadline knows nothing of priorities");
        var (ch, cl) = share["cfq"];
        cl.Should().BePositive("level 7 is served too, once per eight rounds");
        ch.Should().BeGreaterThan(3 * cl, "level 0 has a 180 ms slice in every round, level 7 a 40 ms one in one round of eight");
        (ch + cl).Should().BeGreaterThan(5 * (dh + dl), "slices spare the seeks between the two areas");
    }

    [Test]
    public void TheIdleClassIsServedOnlyAfterTheDiskWasQuietForItsGracePeriod()
    {
        var k = Boot("cfq", out var disk, out _);
        var busy = new List<long>();
        var idle = new List<long>();
        var r = k.Spawn("busy", Reader(0, null, long.MaxValue, 200, busy));
        var i = k.Spawn("idle", Reader(20L << 30, IoPrio.Value(IoprioClass.IOPRIO_CLASS_IDLE, 0), long.MaxValue, 5, idle));
        k.RunUntilExit(r, 60_000_000_000).Should().BeTrue();
        k.RunUntilExit(i, 60_000_000_000).Should().BeTrue();
        k.AssertInvariants();
        long busyDone = busy.Max();
        TestContext.Out.WriteLine($"busy done {busyDone}; idle reads at {string.Join(", ", idle)}");
        idle.Should().HaveCount(5);
        idle.Count(t => t < busyDone).Should().BeLessThanOrEqualTo(1, "while a best-effort process keeps the disk busy the idle class waits");
        idle.Max().Should().BeGreaterThanOrEqualTo(busyDone + 99_000_000, "after the last best-effort completion CFQ waits CFQ_IDLE_GRACE (100 ms)");
        ((CfqElevator)disk.Queue.Elevator).CfqQueues.Should().BeEmpty();
    }

    [Test]
    public void AsyncWritesOfAllProcessesShareOneQueueAndEachReaderHasItsOwn()
    {
        var k = Boot("cfq", out var disk, out _);
        var cfq = (CfqElevator)disk.Queue.Elevator;
        var seen = new HashSet<int>();
        var writers = Enumerable.Range(0, 2).Select(w => k.Spawn($"writer{w}", async self =>
        {
            long buf = await self.Mmap(0, 16 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR);
            (await self.Pwrite(fd, buf, 16 * Page, w * (1L << 30))).Should().Be(16 * Page);
            (await self.Fsync(fd)).Should().Be(0);
            await self.Exit(0);
        })).ToList();
        var reads = new List<long>();
        var reader = k.Spawn("reader", Reader(10L << 30, null, long.MaxValue, 20, reads));
        k.RunUntil(() =>
        {
            foreach (var q in cfq.CfqQueues)
            {
                seen.Add(q.Key);
            }
            return writers.Concat([reader]).All(t => t.ExitState != 0);
        }, 60_000_000_000).Should().BeTrue();
        seen.Should().Contain(CfqElevator.CFQ_KEY_ASYNC, "write-back bios are async").And.Contain(reader.Pid)
            .And.NotContain(writers[0].Pid).And.NotContain(writers[1].Pid);
        k.AssertInvariants();
    }

    [Test]
    public void SwitchingAwayFromCfqWithQueuedRequestsLosesNothing()
    {
        var k = Boot("cfq", out var disk, out _);
        var reads = Enumerable.Range(0, 3).Select(_ => new List<long>()).ToArray();
        var readers = Enumerable.Range(0, 3).Select(n => k.Spawn($"r{n}", Reader(n * (5L << 30), null, long.MaxValue, 30, reads[n]))).ToList();
        // Stop with requests in CFQ and another in the driver, the moment the switch must handle.
        k.RunUntil(() => reads.Sum(r => r.Count) >= 10 && disk.Queue.Elevator.Queued > 0 && disk.Queue.InFlight > 0, 10_000_000_000).Should().BeTrue();
        var old = (CfqElevator)disk.Queue.Elevator;
        k.Proc.Write("/sys/block/sda/queue/scheduler", "deadline").Should().Be(0);
        old.Queued.Should().Be(0, "the switch moved CFQ's requests to the dispatch queue");
        disk.Queue.Elevator.Name.Should().Be("deadline");
        foreach (var t in readers)
        {
            k.RunUntilExit(t, 60_000_000_000).Should().BeTrue();
        }
        reads.Should().OnlyContain(r => r.Count == 30);
        k.AssertInvariants();
        k.Proc.Write("/sys/block/sda/queue/scheduler", "cfq").Should().Be(0, "and back");
        k.Proc.Read("/sys/block/sda/queue/scheduler").Should().Be("noop anticipatory deadline [cfq] \n");
    }

    [Test]
    public void IoprioSetAndGetCheckTheirArgumentsAndForkInheritsThePriority()
    {
        var k = KernelBuilder.New().BootForHostCalls();
        var results = new List<long>();
        long childPrio = -1;
        var t = k.Spawn("p", async self =>
        {
            results.Add(self.IoprioGet(IoprioWho.IOPRIO_WHO_PROCESS, 0));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 8)));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_NONE, 0)));
            results.Add(await self.IoprioSet((IoprioWho)9, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 1)));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 99999, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 1)));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 2)));
            results.Add(self.IoprioGet(IoprioWho.IOPRIO_WHO_PROCESS, 0));
            long pid = await self.Fork(async c =>
            {
                childPrio = c.IoprioGet(IoprioWho.IOPRIO_WHO_PROCESS, 0);
                await c.Exit(0);
            });
            await self.Wait4((int)pid);
            results.Add(self.IoprioGet((IoprioWho)0, 0));
            await self.Exit(0);
        });
        k.RunUntilExit(t).Should().BeTrue();
        results.Should().Equal(0L, Errno.EINVAL.Ret(), Errno.EINVAL.Ret(), Errno.EINVAL.Ret(), Errno.ESRCH.Ret(), 0L,
            (long)IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 2), Errno.EINVAL.Ret());
        childPrio.Should().Be(IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 2), "fork copies ioprio");
    }

    [Test]
    public void TheRealTimeAndIdleClassesNeedPrivilege()
    {
        var k = KernelBuilder.New().BootForHostCalls();
        var results = new List<long>();
        var t = k.Spawn("user", async self =>
        {
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_RT, 0)));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_IDLE, 0)));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 1, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 0)));
            results.Add(await self.IoprioSet(IoprioWho.IOPRIO_WHO_PROCESS, 0, IoPrio.Value(IoprioClass.IOPRIO_CLASS_BE, 7)));
            await self.Exit(0);
        }, new LinuxKernel.SpawnOptions { Uid = 1000 });
        k.RunUntilExit(t).Should().BeTrue();
        results.Should().Equal(Errno.EPERM.Ret(), Errno.EPERM.Ret(), Errno.EPERM.Ret(), 0L);
    }
}
