using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Tests.Support;
using NUnit.Framework;
using static Kernel.Tests.Block.BlockKit;

namespace Kernel.Tests.Block;

/// <summary>A disk behind the queue: plugging, the driver and its interrupt, completion, faults, /sys and /proc.</summary>
[Parallelizable(ParallelScope.All)]
public class DiskTests
{
    private sealed class Ends
    {
        public readonly List<(long Sector, int Bytes, int Error, long At)> Calls = new();
        public int Finished;

        public Bio.EndIoFn Fn(LinuxKernel k) => (b, bytes, err) =>
        {
            Calls.Add((b.Sector - (bytes >> 9), bytes, err, k.Now));
            if (b.Size == 0)
            {
                Finished++;
                b.Put();
            }
        };
    }

    [Test]
    public void AQueuePlugsOnItsFirstBioAndUnplugsAtFourRequests()
    {
        var (k, disk, driver) = WithDisk();
        var q = disk.Queue;
        var ends = new Ends();
        for (int i = 0; i < 3; i++)
        {
            Submit(q, NewBio(k, 1000 * (i + 1), 8, write: false, endIo: ends.Fn(k)));
        }
        q.Plugged.Should().BeTrue("the first bio found the queue empty");
        driver.Active.Should().BeNull("a plugged queue's driver is not called");
        k.AssertInvariants();
        Submit(q, NewBio(k, 5000, 8, write: false, endIo: ends.Fn(k)));
        q.Plugged.Should().BeFalse("four waiting requests reach unplug_thresh");
        q.UnplugsByThreshold.Should().Be(1);
        driver.Active.Should().NotBeNull();
        k.AssertInvariants();
        k.RunUntil(() => ends.Finished == 4, 1_000_000_000).Should().BeTrue();
        q.InFlight.Should().Be(0);
        q.Count[READ].Should().Be(0);
        disk.Stats.Ios[READ].Should().Be(4);
        k.AssertInvariants();
    }

    [Test]
    public void APluggedQueueIsUnpluggedByKblockdAfterUnplugDelay()
    {
        var (k, disk, driver) = WithDisk(hz: 1000);
        var q = disk.Queue;
        var ends = new Ends();
        q.UnplugDelay.Should().Be(3u);
        Submit(q, NewBio(k, 0, 8, write: false, endIo: ends.Fn(k)));
        k.Run(2_000_000);
        ends.Finished.Should().Be(0);
        q.Plugged.Should().BeTrue();
        k.Run(3_000_000);
        q.UnplugsByTimer.Should().Be(1);
        ends.Finished.Should().Be(1);
        ends.Calls[0].At.Should().BeInRange(3_000_000, 4_500_000, "3 ms of plug, then kblockd, then 0.1 ms of SSD");
        k.Block.Kblockd.Runs.Should().Be(1);
        k.FindTask(k.Block.Kblockd.Thread(0).Pid)!.Comm.Should().Be("kblockd/0");
        k.AssertInvariants();
    }

    [Test]
    public void BytesWrittenAreTheBytesReadBackAndTheStatisticsCountThem()
    {
        var (k, disk, _) = WithDisk();
        var q = disk.Queue;
        var mem = k.Memory;
        int a = mem.AllocPages(Gfp.GFP_KERNEL, 0), b = mem.AllocPages(Gfp.GFP_KERNEL, 0);
        var pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 3)).ToArray();
        pattern.CopyTo(mem.WritePage(a));
        var ends = new Ends();
        var w = NewBio(k, 2048, 8, write: true, endIo: ends.Fn(k));
        w.IoVec[0] = new BioVec(a, 4096, 0);
        w.Rw |= BioRw.BIO_RW_SYNC;
        Submit(q, w);
        k.RunUntil(() => ends.Finished == 1, 1_000_000_000).Should().BeTrue();
        var r = NewBio(k, 2048, 8, write: false, endIo: ends.Fn(k));
        r.IoVec[0] = new BioVec(b, 4096, 0);
        r.Rw |= BioRw.BIO_RW_SYNC;
        Submit(q, r);
        k.RunUntil(() => ends.Finished == 2, 1_000_000_000).Should().BeTrue();
        ends.Calls.Select(c => c.Error).Should().AllBeEquivalentTo(0);
        mem.ReadPage(b).ToArray().Should().Equal(pattern);
        var fields = k.Proc.Read("/proc/diskstats")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        fields[..3].Should().Equal("8", "0", "sda");
        // reads: ios merges sectors ticks; writes: the same; in_flight io_ticks time_in_queue
        (fields[3], fields[4], fields[5], fields[7], fields[8], fields[9], fields[11]).Should().Be(("1", "0", "8", "1", "0", "8", "0"));
        k.Proc.Read("/sys/block/sda/stat")!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(11);
        k.Proc.Read("/sys/block/sda/size").Should().Be($"{(64L << 20) / 512}\n");
        mem.FreePages(a, 0);
        mem.FreePages(b, 0);
        k.AssertInvariants();
    }

    [Test]
    public void AFailingSectorFailsTheRestOfItsRequestWithEioAndTheBytesBeforeItComplete()
    {
        var (k, disk, driver) = WithDisk();
        var q = disk.Queue;
        var ends = new Ends();
        driver.FailSector(2050);
        Submit(q, NewBio(k, 2040, 8, write: true, endIo: ends.Fn(k)));
        Submit(q, NewBio(k, 2048, 8, write: true, endIo: ends.Fn(k))); // back-merges: one request 2040..2056
        q.BackMerges.Should().Be(1);
        q.RunQueue();
        k.RunUntil(() => ends.Finished == 2, 1_000_000_000).Should().BeTrue();
        int eio = (int)Errno.EIO.Ret();
        ends.Calls.Select(c => (c.Sector, c.Bytes, c.Error)).Should().Equal((2040L, 4096, 0), (2048L, 1024, 0), (2050L, 3072, eio));
        driver.FailedRequests.Should().Be(1);
        k.Block.Log.Should().Contain(l => l.Contains("I/O error, dev sda, sector 2050"));
        disk.Stats.Ios[WRITE].Should().Be(1);
        k.AssertInvariants();
    }

    [Test]
    public void ARandomFractionOfRequestsFailsTheSameWayEveryRun()
    {
        List<int> Run()
        {
            var (k, disk, driver) = WithDisk();
            driver.FailRandomly(0.5, seed: 42);
            var ends = new Ends();
            for (int i = 0; i < 20; i++)
            {
                var bio = NewBio(k, 100 * i, 8, write: false, endIo: ends.Fn(k));
                bio.Rw |= BioRw.BIO_RW_SYNC;
                Submit(disk.Queue, bio);
            }
            k.RunUntil(() => ends.Finished == 20, 1_000_000_000).Should().BeTrue();
            return ends.Calls.Select(c => c.Error).ToList();
        }
        var first = Run();
        first.Should().Contain((int)Errno.EIO.Ret()).And.Contain(0);
        Run().Should().Equal(first);
        ((Action)(() => WithDisk().Driver.FailRandomly(1.5))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void HostSideBiosBeyondNrRequestsWaitOnTheBacklogAndAllComplete()
    {
        var (k, disk, _) = WithDisk(model: new RotationalDisk());
        var q = disk.Queue;
        var ends = new Ends();
        for (int i = 0; i < 300; i++)
        {
            Submit(q, NewBio(k, 100 * i, 8, write: true, endIo: ends.Fn(k)));
        }
        q.Count[WRITE].Should().BeLessThanOrEqualTo(q.NrRequests, "the host side is never a batcher");
        q.BacklogCount.Should().Be(300 - q.Count[WRITE], "no bio merges, and a request counts until it is freed, in flight or not");
        q.BacklogCount.Should().BePositive();
        k.RunUntil(() => ends.Finished == 300, 60_000_000_000).Should().BeTrue();
        ends.Calls.Should().OnlyContain(c => c.Error == 0);
        q.BacklogCount.Should().Be(0);
        k.AssertInvariants();
    }

    [Test]
    public void PartialCompletionEndsWholeBiosThenPartOfTheNextAndMovesTheRequestOn()
    {
        var k = KernelBuilder.New().BootForHostCalls();
        var q = Queue(k, "noop");
        var ends = new Ends();
        Submit(q, NewBio(k, 800, 8, write: false, endIo: ends.Fn(k)));
        Submit(q, NewBio(k, 808, 8, write: false, endIo: ends.Fn(k)));
        var rq = q.ElvNextRequest()!;
        q.BlkdevDequeueRequest(rq);
        (rq.Sector, rq.NrSectors).Should().Be((800L, 16L));
        q.EndThatRequestChunk(rq, 0, 4096 + 512).Should().BeTrue("bytes remain");
        ends.Calls.Select(c => (c.Sector, c.Bytes)).Should().Equal((800L, 4096), (808L, 512));
        (rq.HardSector, rq.HardNrSectors, rq.Sector, rq.NrSectors).Should().Be((809L, 7L, 809L, 7L));
        rq.Bio!.Size.Should().Be(3584);
        rq.Bio.IoVec[rq.Bio.Idx].Should().Be(new BioVec(1000, 3584, 512), "the bio_vec cursor moved inside the page");
        q.EndThatRequestChunk(rq, 0, 3584).Should().BeFalse();
        q.EndThatRequestLast(rq, 0);
        ends.Finished.Should().Be(2);
        q.Count[READ].Should().Be(0);
    }

    [Test]
    public void BiosPastTheEndOrBiggerThanTheHardwareTakesFailWithEio()
    {
        var (k, disk, _) = WithDisk(bytes: 1 << 20);
        var q = disk.Queue;
        var ends = new Ends();
        Submit(q, NewBio(k, 2048 - 4, 8, write: false, endIo: ends.Fn(k)));
        Submit(q, NewBio(k, 0, 264, write: false, endIo: ends.Fn(k)));
        ends.Calls.Select(c => c.Error).Should().Equal((int)Errno.EIO.Ret(), (int)Errno.EIO.Ret());
        k.Block.Log.Should().Contain(l => l.StartsWith("attempt to access beyond end of device", StringComparison.Ordinal))
            .And.Contain(l => l == "bio too big device sda (264 > 256)");
        q.Count[READ].Should().Be(0, "nothing was queued");
    }

    [Test]
    public void TheElevatorIsSwitchedThroughSysWithQueuedRequestsAndTheTunablesFollow()
    {
        var (k, disk, _) = WithDisk(elevator: "deadline");
        var q = disk.Queue;
        k.Proc.Read("/sys/block/sda/queue/scheduler").Should().Be("noop anticipatory [deadline] cfq \n");
        k.Proc.Read("/sys/block/sda/queue/iosched/fifo_batch").Should().Be("16\n");
        var ends = new Ends();
        for (int i = 0; i < 3; i++)
        {
            Submit(q, NewBio(k, 1000 * (i + 1), 8, write: true, endIo: ends.Fn(k)));
        }
        var old = q.Elevator;
        k.Proc.Write("/sys/block/sda/queue/scheduler", "cfq-typo\n").Should().Be(-(long)Errno.EINVAL);
        q.Elevator.Should().BeSameAs(old);
        k.Proc.Write("/sys/block/sda/queue/scheduler", "noop\n").Should().Be(0);
        q.Elevator.Name.Should().Be("noop");
        q.DispatchCount.Should().Be(3, "the old elevator was drained into the dispatch queue");
        old.Retiring.Should().BeTrue();
        k.Proc.Read("/sys/block/sda/queue/scheduler").Should().Be("[noop] anticipatory deadline cfq \n");
        k.Proc.Read("/sys/block/sda/queue/iosched/fifo_batch").Should().BeNull("noop has no tunables");
        k.Proc.Write("/sys/block/sda/queue/scheduler", "noop").Should().Be(0, "the current one is a no-op");
        q.RunQueue();
        k.RunUntil(() => ends.Finished == 3, 1_000_000_000).Should().BeTrue();
        old.Outstanding.Should().Be(0);
        k.Proc.Write("/sys/block/sda/queue/nr_requests", "3").Should().Be(-(long)Errno.EINVAL);
        k.Proc.Write("/sys/block/sda/queue/nr_requests", "64").Should().Be(0);
        q.NrRequests.Should().Be(64);
        k.Proc.Read("/sys/block/sda/queue/max_sectors_kb").Should().Be("128\n");
        k.Proc.Write("/sys/block/sda/queue/max_sectors_kb", "256").Should().Be(-(long)Errno.EINVAL, "above max_hw_sectors_kb");
        k.Proc.Write("/sys/block/sda/queue/max_sectors_kb", "64").Should().Be(0);
        q.MaxSectors.Should().Be(128);
        k.AssertInvariants();
    }

    [Test]
    public void ARotationalDiskServesTheTrackCacheFastAndAFarSeekSlowly()
    {
        var (k, disk, driver) = WithDisk(model: new RotationalDisk(), bytes: 40L << 30);
        var q = disk.Queue;
        var ends = new Ends();
        var times = new List<long>();
        void Read(long sector)
        {
            long start = k.Now;
            var bio = NewBio(k, sector, 8, write: false, endIo: ends.Fn(k));
            bio.Rw |= BioRw.BIO_RW_SYNC;
            int before = ends.Finished;
            Submit(q, bio);
            k.RunUntil(() => ends.Finished > before, 1_000_000_000).Should().BeTrue();
            times.Add(ends.Calls[^1].At - start);
            k.Machine.EnterHostContext();
        }
        Read(0);
        Read(8); // in the track the drive read ahead into its cache
        Read(60_000_000); // 30 GB further: a long seek
        times[1].Should().BeLessThan(200_000, "a cache hit costs the command and the interface transfer");
        times[2].Should().BeGreaterThan(8_000_000, "a long seek is most of full stroke");
        ((RotationalDisk)driver.Model).CacheHits.Should().Be(1);
        ((RotationalDisk)driver.Model).Seeks.Should().Be(1);
    }
}
