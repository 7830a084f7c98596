using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Sched;
using Kernel.Sched.O1;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Sched;

[Parallelizable(ParallelScope.All)]
public class O1BehaviourTests
{
    [Test]
    public void InteractiveSleeperKeepsItsBonusWhileAHogDriftsToPlusFive()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var hog = k.Spawn("hog", Programs.Hog);
        var sleeper = k.Spawn("sleeper", Programs.Sleeper(10, 1));
        k.Run(Ms.Of(5000));
        hog.Prio.Should().Be(125, "a pure CPU hog ends with bonus 0: static 120 + 5");
        sleeper.Prio.Should().BeLessThanOrEqualTo(116, "a task that sleeps 10 ms per 1 ms of work keeps a bonus near +5");
        SchedParams.TaskInteractive(sleeper).Should().BeTrue();
        sleeper.SleepAvg.Should().BeGreaterThan(800_000_000);
        k.AssertInvariants();
    }

    [Test]
    public void InteractiveWakeupPreemptsAHogImmediately()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        k.Spawn("hog", Programs.Hog);
        var sleeper = k.Spawn("sleeper", Programs.Sleeper(10, 1));
        k.Run(Ms.Of(3000));
        var lat = log.WakeupLatencies(sleeper.Pid).Skip(20).ToList();
        lat.Should().NotBeEmpty();
        lat.Max().Should().BeLessThan(Ms.Of(0.1), "a higher-priority wake-up preempts at the return from the timer interrupt");
        k.AssertInvariants();
    }

    [Test]
    public void ExpiredTasksAreNotStarvedPastTheStarvationLimit()
    {
        // Four tasks earn an interactive bonus with one long sleep, then stay nearly CPU-bound
        // (a few ms of work per 1 ms of sleep, out of step with each other so one is always
        // runnable): TASK_INTERACTIVE keeps reinserting them into the active array, and the hog
        // that expired waits until EXPIRED_STARVING forces them out as their slices end.
        var k = KernelBuilder.New().Hz(1000).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        for (int i = 0; i < 4; i++)
        {
            double work = 5 + i * 1.3;
            k.Spawn("inter", async self =>
            {
                await self.Nanosleep(Ms.Of(1000));
                while (true)
                {
                    await self.Compute(Ms.Of(work));
                    await self.Nanosleep(Ms.Of(1));
                }
            });
        }
        var hog = k.Spawn("hog", Programs.Hog);
        k.Run(Ms.Of(20_000));
        var runs = log.Intervals.Where(i => i.Pid == hog.Pid && i.Start > Ms.Of(1500)).OrderBy(i => i.Start).ToList();
        runs.Count.Should().BeGreaterThan(3, "the hog keeps getting the CPU");
        long maxGap = runs.Zip(runs.Skip(1), (a, b) => b.Start - a.End).Max();
        TestContext.Out.WriteLine($"longest wait of the expired hog: {maxGap / 1e6:0.0} ms");
        // STARVATION_LIMIT (1000 jiffies) * nr_running (5), plus the four interactive slices.
        maxGap.Should().BeLessThanOrEqualTo(Ms.Of(5000 + 4 * 100 + 20));
        maxGap.Should().BeGreaterThan(Ms.Of(4000), "until the limit the interactive tasks keep the CPU");
        k.AssertInvariants();
    }

    [Test]
    public void FifoTaskRunsUntilItFinishesBeforeAnEqualFifoTask()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        var opts = new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 10 };
        var a = k.Spawn("fifoA", Programs.ComputeFor(300), opts);
        var b = k.Spawn("fifoB", Programs.ComputeFor(300), opts);
        k.RunUntilIdle().Should().BeTrue();
        var aRuns = log.Intervals.Where(i => i.Pid == a.Pid).ToList();
        var bRuns = log.Intervals.Where(i => i.Pid == b.Pid).ToList();
        aRuns.Should().HaveCount(1, "FIFO has no timeslice: A is never preempted by its equal");
        bRuns.Min(r => r.Start).Should().BeGreaterThanOrEqualTo(aRuns[0].End);
        k.AssertInvariants();
    }

    [Test]
    public void RoundRobinTasksRotateAtTheirTimeslice()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        var opts = new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_RR, RtPriority = 10 };
        var a = k.Spawn("rrA", Programs.ComputeFor(350), opts);
        var b = k.Spawn("rrB", Programs.ComputeFor(350), opts);
        k.RunUntilIdle().Should().BeTrue();
        var aRuns = log.Intervals.Where(i => i.Pid == a.Pid).OrderBy(i => i.Start).ToList();
        aRuns.Count.Should().BeGreaterThanOrEqualTo(3);
        foreach (var r in aRuns.Take(aRuns.Count - 1))
        {
            (r.End - r.Start).Should().BeCloseTo(Ms.Of(100), (ulong)Ms.Of(1.5), "nice 0 RR timeslice is 100 ms at HZ=1000");
        }
        log.Intervals.Where(i => i.Pid == b.Pid).Should().HaveCountGreaterThanOrEqualTo(3);
        k.AssertInvariants();
    }

    [Test]
    public void RealTimeTaskPreemptsNormalTasksAndHigherFifoPreemptsLower()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        k.Spawn("hog", Programs.Hog);
        var low = k.Spawn("fifo10", Programs.Sleeper(7, 3, 20), new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 10 });
        var high = k.Spawn("fifo50", Programs.Sleeper(5, 0.2, 30), new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 50 });
        k.Run(Ms.Of(400));
        log.WakeupLatencies(high.Pid).Max().Should().BeLessThan(Ms.Of(0.05));
        log.WakeupLatencies(low.Pid).Should().NotBeEmpty();
        k.AssertInvariants();
    }

    [TestCase(0, 10, 2.0 / 3)]
    [TestCase(0, 19, 100.0 / 105)]
    [TestCase(-5, 0, 500.0 / 600)]
    public void CpuSharesFollowTheTimeslicesOfTheNiceLevels(int niceA, int niceB, double expectedShareA)
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var a = k.Spawn("a", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = niceA });
        var b = k.Spawn("b", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = niceB });
        k.Run(Ms.Of(8000)); // programs from a shell start interactive: let both drift to hogs first
        long a0 = a.SumExecRuntimeNs, b0 = b.SumExecRuntimeNs;
        k.Run(Ms.Of(12_000));
        double share = (double)(a.SumExecRuntimeNs - a0) / (a.SumExecRuntimeNs - a0 + b.SumExecRuntimeNs - b0);
        share.Should().BeApproximately(expectedShareA, 0.02);
        k.AssertInvariants();
    }

    [Test]
    public void YieldingNormalTaskGoesBehindItsEqualsInTheExpiredArray()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        long yields = 0;
        var yielder = k.Spawn("yielder", async self =>
        {
            for (int i = 0; i < 5; i++)
            {
                await self.Compute(Ms.Of(1));
                (await self.SchedYield()).Should().Be(0);
                yields++;
            }
        });
        var hog = k.Spawn("hog", Programs.ComputeFor(150), new LinuxKernel.SpawnOptions { FromShell = false });
        k.RunUntilIdle().Should().BeTrue();
        yields.Should().Be(5);
        // After the first yield the hog runs its whole timeslice before the yielder returns.
        var firstHogRun = log.Intervals.Where(i => i.Pid == hog.Pid).OrderBy(i => i.Start).First();
        (firstHogRun.End - firstHogRun.Start).Should().BeGreaterThan(Ms.Of(90));
        k.AssertInvariants();
    }

    [TestCase(SchedulerKind.O1)]
    [TestCase(SchedulerKind.Goodness24)]
    public void AWakeupOnAnIdleCpuIsPaidByTheTaskItWakes(SchedulerKind kind)
    {
        // The timer softirq wakes the sleeper while the CPU idles: the wakeup's cost (and the
        // runqueue lock's) must land on the woken task, not vanish into the idle task.
        long RuntimeAfterWake(long wakeupNs)
        {
            var k = KernelBuilder.New().Cpus(1).Hz(1000).Scheduler(kind).FreeCosts()
                .With(o => o with { Costs = o.Costs with { WakeupNs = wakeupNs } }).Boot();
            long before = 0, after = 0;
            k.Spawn("sleeper", async self =>
            {
                await self.Compute(10_000); // the spawn's own wakeup is paid by now
                before = self.TaskStruct.SumExecRuntimeNs;
                await self.Nanosleep(Ms.Of(1));
                after = self.TaskStruct.SumExecRuntimeNs;
            });
            k.RunUntilIdle().Should().BeTrue();
            k.AssertInvariants();
            return after - before;
        }
        (RuntimeAfterWake(7_000) - RuntimeAfterWake(0)).Should().Be(7_000);
    }
    [Test]
    public void AProgramStartedFromAShellInheritsItsBonusAndStartsWithinASchedulingLatency()
    {
        // The shell slept (full sleep_avg, prio 115), wakes, forks (child runs first with the
        // shell's prio and CHILD_PENALTY on its sleep_avg) and execs. Against a nice -5 hog
        // (prio 120 once it is CPU-bound) the program preempts at once.
        var k = KernelBuilder.New().Hz(1000).Boot();
        var hog = k.Spawn("hog", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = -5, FromShell = false });
        k.Run(Ms.Of(3000));
        hog.Prio.Should().Be(120, "a nice -5 CPU hog has the -5 penalty");
        var log = new RunLog();
        k.Trace.AddSink(log);
        long spawnedAt = k.Machine.Now;
        var prog = k.Spawn("prog", Programs.ComputeFor(5));
        prog.Prio.Should().Be(115, "the shell's own priority (nice 0, full bonus)");
        prog.SleepAvg.Should().Be(k.Machine.Hz.JiffiesToNs(9 * 1000 / 10 * k.Machine.Hz.Value / 1000), "CURRENT_BONUS 10 * 95 / 100 = 9 tenths of MAX_SLEEP_AVG");
        k.Run(Ms.Of(50));
        var first = log.Intervals.Where(iv => iv.Pid == prog.Pid).OrderBy(iv => iv.Start).First();
        (first.Start - spawnedAt).Should().BeLessThan(Ms.Of(0.1), "it preempts the hog instead of waiting for its 120 ms slice");
        k.AssertInvariants();
    }

    [Test]
    public void NiceAppliedInTheChildRecomputesThePriorityWithTheInheritedBonus()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        var p = k.Spawn("niced", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = 10 });
        p.StaticPrio.Should().Be(130);
        p.Prio.Should().Be(126, "effective_prio: 130 - (CURRENT_BONUS 9 - 5)");
        k.AssertInvariants();
    }
}
