using FluentAssertions;
using Kernel.Block;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>The request queue's request list (block/ll_rw_blk.c get_request, get_request_wait, freed_request).</summary>
[Parallelizable(ParallelScope.All)]
public class RequestListTests
{
    private const int READ = 0, WRITE = 1;

    [Test]
    public void TheThresholdsAreLinuxsAndFollowNrRequests()
    {
        var k = KernelBuilder.New().Boot();
        k.Machine.EnterHostContext();
        var q = new RequestQueue(BlockLayer.Of(k.Memory), "sda");
        (q.NrRequests, q.NrCongestionOn, q.NrCongestionOff).Should().Be((128, 113, 103));
        q.SetNrRequests(4);
        (q.NrRequests, q.NrCongestionOn, q.NrCongestionOff).Should().Be((4, 4, 3));
        ((Action)(() => q.SetNrRequests(3))).Should().Throw<ArgumentOutOfRangeException>("BLKDEV_MIN_RQ is the floor");
        ((Action)(() => q.GetRequest(2, Gfp.GFP_NOIO))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void AFullQueueLetsTheTaskThatFilledItTakeABatchAndNoOneElse()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        var q = new RequestQueue(BlockLayer.Of(k.Memory), "sda");
        var held = new List<Request>();
        bool congestedAt112 = true, congestedAt113 = false, otherRefused = false;
        int batch = 0;
        var filler = k.Spawn("filler", async self => await self.KernelCall(m =>
        {
            for (int i = 0; i < 112; i++)
            {
                held.Add(q.GetRequest(READ, Gfp.GFP_NOIO)!);
            }
            congestedAt112 = q.BackingDevInfo.ReadCongested;
            held.Add(q.GetRequest(READ, Gfp.GFP_NOIO)!); // count+1 reaches 113: congested
            congestedAt113 = q.BackingDevInfo.ReadCongested;
            while (held.Count < 128)
            {
                held.Add(q.GetRequest(READ, Gfp.GFP_NOIO)!); // the 128th fills it: this task is the batcher
            }
            while (q.GetRequest(READ, Gfp.GFP_NOIO) is { } extra)
            {
                held.Add(extra);
                batch++;
            }
            return ValueTask.FromResult(0L);
        }));
        k.RunUntilExit(filler).Should().BeTrue();
        var other = k.Spawn("other", async self => await self.KernelCall(m =>
        {
            otherRefused = q.GetRequest(READ, Gfp.GFP_NOIO) is null;
            return ValueTask.FromResult(0L);
        }));
        k.RunUntilExit(other).Should().BeTrue();
        congestedAt112.Should().BeFalse();
        congestedAt113.Should().BeTrue("get_request sets congestion once count+1 reaches nr_congestion_on");
        q.IsFull(READ).Should().BeTrue();
        batch.Should().Be(RequestQueue.BLK_BATCH_REQ - 1, "the batcher's allocation that filled the queue counted against its batch");
        otherRefused.Should().BeTrue("a task that is not a batcher gets nothing from a full queue");
        q.Count[READ].Should().Be(held.Count);
        q.Count[WRITE].Should().Be(0, "the other direction has its own limit");
        k.Machine.EnterHostContext();
        foreach (var rq in held.Take(held.Count - 102))
        {
            q.PutRequest(rq);
        }
        q.Count[READ].Should().Be(102);
        q.BackingDevInfo.ReadCongested.Should().BeFalse("cleared below nr_congestion_off (103)");
        q.IsFull(READ).Should().BeFalse();
        foreach (var rq in held.Skip(held.Count - 102))
        {
            q.PutRequest(rq);
        }
        ((Action)(() => q.PutRequest(held[0]))).Should().Throw<KernelBug>("a request is put once per reference");
        k.AssertInvariants();
    }

    [Test]
    public void ATaskThatCannotGetARequestSleepsInIoWaitUntilOneIsFreed()
    {
        var k = KernelBuilder.New().Cpus(1).Hz(1000).Boot();
        var q = new RequestQueue(BlockLayer.Of(k.Memory), "sdb");
        q.SetNrRequests(4);
        var held = new List<Request>();
        Request? late = null;
        long gotAt = 0, freedAt = 0;
        k.Spawn("hog", async self =>
        {
            await self.KernelCall(m =>
            {
                // Four fill it; the hog is the batcher and takes its batch (up to 50 % over: 6).
                while (q.GetRequest(WRITE, Gfp.GFP_NOIO) is { } rq)
                {
                    held.Add(rq);
                }
                return ValueTask.FromResult(0L);
            });
            // A free wakes a sleeper only once the direction is under nr_requests again: 6 -> 3.
            for (int i = 0; i < 3; i++)
            {
                await self.Nanosleep(TimeSpec.FromMilliseconds(i == 0 ? 5 : 1));
                await self.KernelCall(m =>
                {
                    q.PutRequest(held[^1]);
                    held.RemoveAt(held.Count - 1);
                    return ValueTask.FromResult(0L);
                });
                freedAt = self.Now;
            }
        });
        var waiter = k.Spawn("writer", async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds(1));
            await self.KernelCall(async m =>
            {
                late = await q.GetRequestWait(WRITE);
                return 0;
            });
            gotAt = self.Now;
        });
        k.Run(Ms.Of(3));
        held.Should().HaveCount(6, "3 * nr_requests / 2 caps even a batcher");
        waiter.State.Should().Be(TaskState.TASK_UNINTERRUPTIBLE);
        k.Machine.NrIowait(k.Machine.Cpus[0]).Should().Be(1, "it sleeps in io_schedule");
        q.SleepRq.Should().Be(1);
        k.RunUntilIdle().Should().BeTrue();
        late.Should().NotBeNull();
        gotAt.Should().BeGreaterThanOrEqualTo(freedAt, "only the third free, below nr_requests, woke it");
        gotAt.Should().BeGreaterThanOrEqualTo(Ms.Of(7));
        k.Machine.EnterHostContext();
        q.PutRequest(late!);
        foreach (var rq in held)
        {
            q.PutRequest(rq);
        }
        q.Count[WRITE].Should().Be(0);
        k.AssertInvariants();
    }
}
