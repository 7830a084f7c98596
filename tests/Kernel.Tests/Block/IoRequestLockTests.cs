using FluentAssertions;
using Kernel.Lab.Experiments;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>One global io_request_lock for four queues (2.4) against a lock per queue (2.6), four CPUs each driving its own disk; bounce against direct.</summary>
[Parallelizable(ParallelScope.All)]
public class IoRequestLockTests
{
    [Test]
    public void AGlobalLockMakesFourCpusSpinWhereQueueLocksDoNot()
    {
        var perQueue = BlockLocking.IoRequestLock(shared: false);
        var global = BlockLocking.IoRequestLock(shared: true);
        perQueue.Ios.Should().Be(1200);
        global.Ios.Should().Be(1200);
        global.Acquisitions.Should().Be(perQueue.Acquisitions, "the same work takes the same locks");
        global.Contentions.Should().BeGreaterThan(10, "four CPUs queue and complete I/O under one lock");
        global.SpinNs.Should().BeGreaterThan(10 * Math.Max(1, perQueue.SpinNs));
        global.SimulatedNs.Should().BeGreaterThan(perQueue.SimulatedNs);
        TestContext.Out.WriteLine($"per-queue: {perQueue}; global: {global}");
    }

    [Test]
    public void BouncingCopiesEveryByteTwiceAndHoldsLowmemWhereDirectDmaCopiesNothing()
    {
        var direct = BlockLocking.Bounce(lowmemOnlyDma: false, pages: 16, rounds: 2);
        var bounced = BlockLocking.Bounce(lowmemOnlyDma: true, pages: 16, rounds: 2);
        direct.BouncedBios.Should().Be(0);
        direct.BytesCopied.Should().Be(0);
        bounced.BytesCopied.Should().Be(bounced.Bytes, "written bytes are copied down, read bytes up");
        bounced.MaxBouncePages.Should().BeGreaterThan(0);
        bounced.SimulatedNs.Should().BeGreaterThan(direct.SimulatedNs, "the copies cost CPU time");
        TestContext.Out.WriteLine($"direct: {direct}; bounced: {bounced}");
    }
}
