using FluentAssertions;
using Kernel.Lab.Experiments;
using Kernel.Sched;
using NUnit.Framework;

namespace Kernel.Tests.Experiments;

/// <summary>The lab's message-passing and ping-pong experiments: every message arrives, and the schedulers differ as the seeds say.</summary>
[Parallelizable(ParallelScope.All)]
public class MessagingExperimentTests
{
    [TestCase(MessagingMode.Process, SchedulerKind.O1, 1)]
    [TestCase(MessagingMode.Thread, SchedulerKind.O1, 2)]
    [TestCase(MessagingMode.Process, SchedulerKind.Goodness24, 2)]
    public void HackbenchDeliversEveryMessageItOwes(MessagingMode mode, SchedulerKind scheduler, int cpus)
    {
        var r = Hackbench.Run(new HackbenchOptions { Groups = 2, Loops = 5, PerGroup = 4, Mode = mode, Scheduler = scheduler, Cpus = cpus });
        r.Expected.Should().Be(2 * 4 * 4 * 5);
        r.Messages.Should().Be(r.Expected);
        r.Complete.Should().BeTrue();
        r.Tasks.Should().Be(2 * 4 * 2, "every sender and receiver retired");
        r.SimulatedNs.Should().BeGreaterThan(0, "the messages take time after the go");
        r.SetupNs.Should().BeGreaterThan(0, "16 workers and 8 pipes are made before the go");
        r.MessagesPerSimSecond.Should().BeApproximately(r.Messages / (r.SimulatedNs / 1e9), 1e-6);
        r.IdleFraction.Should().BeInRange(0, 1);
    }

    [Test]
    public void TheChatServerRelaysEveryMessageToEveryClientOfItsRoom()
    {
        foreach (var mode in new[] { MessagingMode.Thread, MessagingMode.Process })
        {
            var r = ChatServer.Run(new ChatServerOptions { Rooms = 2, ClientsPerRoom = 3, Messages = 4, Mode = mode, Cpus = 2 });
            r.Expected.Should().Be(2 * 3 * 3 * 4);
            r.Messages.Should().Be(r.Expected, $"in {mode} mode");
            r.Tasks.Should().Be(2 * 3 * 3, "a sender, a handler and a receiver per client");
        }
    }

    [Test]
    public void SixHundredThreadsFitTheirTidWordsAndFds()
    {
        // Ten rooms of twenty clients: 600 threads (600 tid words on the heap) and 800 pipe ends in one fd table.
        var r = ChatServer.Run(new ChatServerOptions { Rooms = 10, Messages = 1 });
        r.Messages.Should().Be(10 * 20 * 20);
        r.Tasks.Should().Be(600);
    }

    [Test]
    public void TheStartBarrierKeepsTheForksOutOfTheMeasuredTime()
    {
        var o = new HackbenchOptions { Groups = 10, Loops = 10, Cpus = 4 };
        var barrier = Hackbench.Run(o);
        var none = Hackbench.Run(o with { StartBarrier = false });
        barrier.Messages.Should().Be(none.Messages).And.Be(o.ExpectedMessages);
        none.SimulatedNs.Should().BeGreaterThan(none.SetupNs, "without the barrier set-up is part of the run");
        barrier.SimulatedNs.Should().BeLessThan(none.SimulatedNs - none.SetupNs / 2, "with it the forks are done before the clock starts");
        barrier.IdleFraction.Should().BeLessThan(none.IdleFraction, "all groups are runnable at once, so the balancer has work to spread");
    }

    [Test]
    public void ATimeLimitStopsTheRunPartWay()
    {
        var r = Hackbench.Run(new HackbenchOptions { Groups = 2, Loops = 1_000, PerGroup = 4, LimitNs = 2_000_000 });
        (r.SetupNs + r.SimulatedNs).Should().Be(2_000_000, "the limit counts from boot; the measured time from the go");
        r.Messages.Should().BeGreaterThan(0).And.BeLessThan(r.Expected);
        r.Complete.Should().BeFalse();
    }

    [Test]
    public void BadOptionsAreRefusedWithTheirName()
    {
        var zero = () => Hackbench.Run(new HackbenchOptions { Groups = 0 });
        zero.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Groups");
        var big = () => Hackbench.Run(new HackbenchOptions { MessageSize = 5_000 });
        big.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MessageSize");
        var fds = () => Hackbench.Run(new HackbenchOptions { Groups = 30, Mode = MessagingMode.Thread });
        fds.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*RLIMIT_NOFILE*");
        var limit = () => ChatServer.Run(new ChatServerOptions { LimitNs = 0 });
        limit.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("LimitNs");
    }

    [Test]
    public void TheGoodnessSchedulerPingPongsTasksBetweenCpusAndO1KeepsThemHome()
    {
        // Love's Tables 1 and 2: five CPU hogs on four CPUs.
        var o1 = PingPong.Run(new PingPongOptions { Scheduler = SchedulerKind.O1, Samples = 8 });
        var goodness = PingPong.Run(new PingPongOptions { Scheduler = SchedulerKind.Goodness24, Samples = 8 });
        o1.Tasks.Should().HaveCount(5);
        o1.Migrations.Sum().Should().Be(0, "an imbalance of one task is not worth a migration");
        goodness.Migrations.Sum().Should().BeGreaterThan(10, "2.4 hands the waiting task to whichever CPU schedules next");
        goodness.MigrationsPerTaskSecond.Should().BeGreaterThan(o1.MigrationsPerTaskSecond);
        for (int s = 0; s < 8; s++)
        {
            var running = Enumerable.Range(0, 5).Select(i => o1.Cpu[i, s]).Where(c => c >= 0).ToList();
            running.Should().HaveCount(4, "four CPUs run four of the five hogs at every sample").And.OnlyHaveUniqueItems();
        }
    }
}
