using FluentAssertions;
using Kernel.Block;
using Kernel.Tests.Support;
using NUnit.Framework;
using static Kernel.Tests.Block.BlockKit;

namespace Kernel.Tests.Block;

/// <summary>noop: FIFO with merging; its dispatch goes through elv_dispatch_sort.</summary>
[Parallelizable(ParallelScope.All)]
public class NoopTests
{
    [Test]
    public void RequestsLeaveInArrivalOrderOneAtATime()
    {
        var k = KernelBuilder.New().BootForHostCalls();
        var q = Queue(k, "noop");
        foreach (long s in new long[] { 300, 100, 200 })
        {
            Submit(q, NewBio(k, s, 8, write: false));
        }
        Submit(q, NewBio(k, 308, 8, write: false)); // merges into 300 at the back
        q.BackMerges.Should().Be(1);
        DrainOrder(q).Should().Equal(300, 100, 200);
        k.AssertInvariants();
    }

    [Test]
    public void DispatchSortKeepsTheDispatchQueueInOneSweepFromTheHead()
    {
        var k = KernelBuilder.New().BootForHostCalls();
        var q = Queue(k, "noop");
        foreach (long s in new long[] { 500, 100, 300 })
        {
            Submit(q, NewBio(k, s, 8, write: false));
        }
        // Let the elevator hand everything over before the driver takes any: the head is at 0,
        // so the dispatch queue sorts ascending.
        while (q.Elevator.Dispatch(force: true))
        {
        }
        q.DispatchQueue.Select(r => r.Sector).Should().Equal(100, 300, 500);
        DrainOrder(q).Should().Equal(100, 300, 500);
        // Head at 508 now: a request below it goes after those above it.
        foreach (long s in new long[] { 50, 600, 550 })
        {
            Submit(q, NewBio(k, s, 8, write: false));
        }
        while (q.Elevator.Dispatch(force: true))
        {
        }
        q.DispatchQueue.Select(r => r.Sector).Should().Equal(550, 600, 50);
        DrainOrder(q);
    }
}
