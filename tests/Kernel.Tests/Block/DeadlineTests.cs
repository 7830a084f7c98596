using FluentAssertions;
using Kernel.Block;
using Kernel.Tests.Support;
using NUnit.Framework;
using static Kernel.Tests.Block.BlockKit;

namespace Kernel.Tests.Block;

/// <summary>
/// The deadline elevator's dispatch order, each case worked out by hand from 2.6.20's
/// deadline_dispatch_requests (see the comments), its merges, and its tunables.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class DeadlineTests
{
    private static LinuxKernel Boot() => KernelBuilder.New().Hz(1000).BootForHostCalls();

    [Test]
    public void RequestsLeaveInOneSweepOfAscendingSectorsNotInArrivalOrder()
    {
        var k = Boot();
        var q = Queue(k, "deadline");
        foreach (long s in new long[] { 100, 50, 300, 200 })
        {
            Submit(q, NewBio(k, s, 8, write: false));
        }
        // No batch, nothing expired, no next request: the lowest sector starts the sweep; each
        // non-sequential next request ends the batch, but the new one continues from next_rq.
        DrainOrder(q).Should().Equal(50, 100, 200, 300);
        q.Count[READ].Should().Be(0);
        k.AssertInvariants();
    }

    [Test]
    public void WritesAreServedAfterWritesStarvedReadBatches()
    {
        var k = Boot();
        var q = Queue(k, "deadline");
        foreach (long s in new long[] { 1000, 2000, 3000, 4000 })
        {
            Submit(q, NewBio(k, s, 8, write: false));
        }
        Submit(q, NewBio(k, 10, 8, write: true));
        Submit(q, NewBio(k, 20, 8, write: true));
        // 1: reads (starved 0 -> 1), lowest read 1000. 2: batch ends (not sequential), reads
        // (1 -> 2), next_rq 2000. 3: starved 2 >= writes_starved: writes, lowest write 10.
        // 4: batch ends, reads (0 -> 1), no next read: lowest read 3000. 5: reads (1 -> 2): 4000.
        // 6: no reads left: the write 20 (next_rq was cleared when 3000 moved).
        DrainOrder(q).Should().Equal(1000, 2000, 10, 3000, 4000, 20);
        k.AssertInvariants();
    }

    [Test]
    public void AnExpiredReadIsServedWhenTheBatchReachesFifoBatch()
    {
        foreach (int fifoBatch in new[] { 16, 4 })
        {
            var k = Boot();
            var q = Queue(k, "deadline");
            q.SetMaxSectors(8); // every 8-sector bio stays its own request
            k.Proc.Write("/sys/block/sdq/queue/iosched/fifo_batch", $"{fifoBatch}\n").Should().Be(-(long)Kernel.Core.Errno.ENOENT,
                "a queue without a disk has no /sys directory");
            q.Elevator.Attributes.Single(a => a.Name == "fifo_batch").Store!($"{fifoBatch}").Should().Be(0);
            Submit(q, NewBio(k, 9000, 8, write: false)); // the oldest request, far up the disk
            for (int i = 0; i < 20; i++)
            {
                Submit(q, NewBio(k, 1000 + 8 * i, 8, write: false));
            }
            var first = DrainOrder(q, 1);
            first.Should().Equal(1000L); // nothing expired yet: the lowest sector
            k.Run(600_000_000); // past read_expire (500 ms) for all of them
            k.Machine.EnterHostContext();
            var rest = DrainOrder(q);
            // The batch runs on, expired or not, until fifo_batch requests; then the new batch
            // starts at the FIFO head, the expired read at 9000; then the next FIFO head.
            var expected = Enumerable.Range(1, fifoBatch - 1).Select(i => 1000L + 8 * i).Append(9000L)
                .Concat(Enumerable.Range(fifoBatch, 20 - fifoBatch).Select(i => 1000L + 8 * i));
            rest.Should().Equal(expected, $"fifo_batch is {fifoBatch}");
            k.AssertInvariants();
        }
    }

    [Test]
    public void AnExpiredWriteGoesBeforeLowerSectors()
    {
        foreach (bool expire in new[] { false, true })
        {
            var k = Boot();
            var q = Queue(k, "deadline");
            Submit(q, NewBio(k, 100, 8, write: true));
            Submit(q, NewBio(k, 50, 8, write: true));
            if (expire)
            {
                k.Run(5_100_000_000); // past write_expire (5 s)
                k.Machine.EnterHostContext();
            }
            DrainOrder(q).Should().Equal(expire ? new long[] { 100, 50 } : new long[] { 50, 100 });
        }
    }

    [Test]
    public void BiosMergeAtTheBackThroughTheHashAndAtTheFrontThroughTheTree()
    {
        var k = Boot();
        var q = Queue(k, "deadline");
        Submit(q, NewBio(k, 100, 8, write: false));
        Submit(q, NewBio(k, 108, 8, write: false)); // back merge (hash on the end sector)
        Submit(q, NewBio(k, 92, 8, write: false)); // front merge (the tree finds the request at 100)
        q.BackMerges.Should().Be(1);
        q.FrontMerges.Should().Be(1);
        q.Count[READ].Should().Be(1);
        var dd = (DeadlineElevator)q.Elevator;
        dd.SortOrder(READ).Select(r => (r.Sector, r.NrSectors)).Should().Equal((92L, 24L));
        // A write at the same sectors never merges with reads.
        Submit(q, NewBio(k, 116, 8, write: true));
        q.Count[WRITE].Should().Be(1);
        // Filling the gap between two requests merges them into one (attempt_back_merge).
        Submit(q, NewBio(k, 200, 8, write: false));
        Submit(q, NewBio(k, 116, 84, write: false));
        q.RequestsMerged.Should().Be(1);
        dd.SortOrder(READ).Select(r => (r.Sector, r.NrSectors)).Should().Equal((92L, 116L));
        DrainOrder(q).Should().Equal(92, 116);
        k.AssertInvariants();
    }

    [Test]
    public void FrontMergesOffStopsTheTreeLookupButNotTheLastMergeCache()
    {
        foreach (bool frontMerges in new[] { true, false })
        {
            var k = Boot();
            var q = Queue(k, "deadline");
            q.Elevator.Attributes.Single(a => a.Name == "front_merges").Store!(frontMerges ? "1" : "0").Should().Be(0);
            Submit(q, NewBio(k, 108, 8, write: false));
            Submit(q, NewBio(k, 500, 8, write: false));
            Submit(q, NewBio(k, 508, 8, write: false)); // a back merge: last_merge is now the request at 500
            Submit(q, NewBio(k, 100, 8, write: false)); // only deadline's own tree lookup finds the request at 108
            q.FrontMerges.Should().Be(frontMerges ? 1 : 0);
            q.Count[READ].Should().Be(frontMerges ? 2 : 3);
            DrainOrder(q).Should().Equal(frontMerges ? new long[] { 100, 500 } : new long[] { 100, 108, 500 });
        }
        // elv_merge's one-hit cache front-merges whatever front_merges says, as in 2.6.20.
        var k2 = Boot();
        var q2 = Queue(k2, "deadline");
        q2.Elevator.Attributes.Single(a => a.Name == "front_merges").Store!("0").Should().Be(0);
        Submit(q2, NewBio(k2, 108, 8, write: false));
        Submit(q2, NewBio(k2, 100, 8, write: false));
        q2.FrontMerges.Should().Be(1);
    }

    [Test]
    public void TunablesShowLinuxsUnitsAndRefuseBadValuesWithoutChangingAnything()
    {
        var k = Boot();
        var q = Queue(k, "deadline");
        var attrs = q.Elevator.Attributes.ToDictionary(a => a.Name);
        attrs.Keys.Should().Equal("read_expire", "write_expire", "writes_starved", "front_merges", "fifo_batch");
        attrs["read_expire"].Show().Should().Be("500\n");
        attrs["write_expire"].Show().Should().Be("5000\n");
        attrs["writes_starved"].Show().Should().Be("2\n");
        attrs["front_merges"].Show().Should().Be("1\n");
        attrs["fifo_batch"].Show().Should().Be("16\n");
        attrs["read_expire"].Store!("250\n").Should().Be(0);
        ((DeadlineElevator)q.Elevator).ReadExpireJiffies.Should().Be(250);
        attrs["front_merges"].Store!("2").Should().Be(-22);
        attrs["fifo_batch"].Store!("-1").Should().Be(-22);
        attrs["fifo_batch"].Store!("many").Should().Be(-22);
        attrs["front_merges"].Show().Should().Be("1\n");
        attrs["fifo_batch"].Show().Should().Be("16\n");
    }

    [Test]
    public void ReadExpireRoundsToJiffiesAtALowerHz()
    {
        var k = KernelBuilder.New().Hz(100).BootForHostCalls();
        var q = Queue(k, "deadline");
        var dd = (DeadlineElevator)q.Elevator;
        dd.ReadExpireJiffies.Should().Be(50);
        var a = q.Elevator.Attributes.Single(x => x.Name == "read_expire");
        a.Store!("15").Should().Be(0);
        dd.ReadExpireJiffies.Should().Be(2, "msecs_to_jiffies rounds up");
        a.Show().Should().Be("20\n");
    }
}
