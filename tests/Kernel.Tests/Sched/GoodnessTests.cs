using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Sched;
using Kernel.Sched.Goodness;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Sched;

[Parallelizable(ParallelScope.All)]
public class GoodnessTests
{
    [Test]
    public void TwoFourSchedulerSharesTheCpuByNiceAndRecalculatesEpochs()
    {
        var k = KernelBuilder.New().Hz(100).Scheduler(SchedulerKind.Goodness24).Boot();
        var a = k.Spawn("a", Programs.Hog);
        var b = k.Spawn("b", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = 10 });
        k.Run(Ms.Of(10_000));
        var g = (GoodnessScheduler)k.Scheduler;
        g.NiceToTicks(0).Should().Be(6, "NICE_TO_TICKS(0) at HZ=100: (20>>2)+1");
        g.NiceToTicks(10).Should().Be(3);
        double share = (double)a.SumExecRuntimeNs / (a.SumExecRuntimeNs + b.SumExecRuntimeNs);
        share.Should().BeApproximately(6.0 / 9, 0.03, "each epoch gives counters of 6 and 3 ticks");
        g.Recalculations.Should().BeGreaterThan(100);
        k.AssertInvariants();
    }

    [Test]
    public void GoodnessGivesTheSameMmBonusToAThreadOfThePreviousTask()
    {
        // 2.4 goodness(): +1 when p->mm == this_mm (no TLB flush) or p->mm is NULL (kernel thread).
        var k = KernelBuilder.New().Scheduler(SchedulerKind.Goodness24).Boot();
        TaskStruct? thread = null;
        var parent = k.Spawn("parent", async self =>
        {
            long tid = await self.Clone(CloneFlags.CLONE_VM | (CloneFlags)Signals.SIGCHLD, async c => await c.Pause(), "thread");
            thread = k.FindTask((int)tid);
            await self.Pause();
        });
        var other = k.Spawn("other", async self => await self.Pause());
        k.Run(Ms.Of(50));
        var g = (GoodnessScheduler)k.Scheduler;
        thread.Should().NotBeNull();
        thread!.Mm.Should().BeSameAs(parent.Mm);
        // Same counter, nice and CPU: only the mm bonus differs.
        thread.Counter = other.Counter = 5;
        thread.Cpu = other.Cpu = 0;
        int gOther = g.Goodness(other, 0, parent);
        g.Goodness(thread, 0, parent).Should().Be(gOther + 1);
        k.AssertInvariants();
    }

    [Test]
    public void TwoFourSchedulerRunsForksAndWaits()
    {
        var k = KernelBuilder.New().Cpus(2).Scheduler(SchedulerKind.Goodness24).Boot();
        int reaped = 0;
        k.Spawn("parent", async self =>
        {
            for (int i = 0; i < 20; i++)
            {
                await self.Fork(async c => await c.Compute(Ms.Of(3)));
            }
            for (int i = 0; i < 20; i++)
            {
                if ((await self.Wait4(-1)).Pid > 0)
                {
                    reaped++;
                }
            }
        });
        k.RunUntilIdle().Should().BeTrue();
        reaped.Should().Be(20);
        k.AssertInvariants();
    }

    [Test]
    public void GlobalRunqueueLockIsContendedWhereO1PerCpuLocksAreNot()
    {
        long Contended(SchedulerKind kind)
        {
            var k = KernelBuilder.New().Cpus(8).Hz(1000).Scheduler(kind).Boot();
            // Two sleepers pinned to each CPU: every tick wakes some on all CPUs at once, and each
            // CPU's wake-ups and schedule() take the runqueue lock at about the same time.
            for (int i = 0; i < 16; i++)
            {
                k.Spawn("pingpong", Programs.Sleeper(0.2, 0.05), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(i % 8) });
            }
            k.Run(Ms.Of(500));
            k.AssertInvariants();
            return kind == SchedulerKind.Goodness24
                ? ((GoodnessScheduler)k.Scheduler).RunqueueLock.SpinNs
                : ((Kernel.Sched.O1.O1Scheduler)k.Scheduler).RunQueues.Sum(r => r.Lock.SpinNs);
        }
        long global = Contended(SchedulerKind.Goodness24);
        long perCpu = Contended(SchedulerKind.O1);
        TestContext.Out.WriteLine($"spin on runqueue locks: 2.4 global {global} ns, O(1) per-CPU {perCpu} ns");
        global.Should().BeGreaterThan(3 * Math.Max(perCpu, 1), "every CPU's schedule() and every wake-up serialise on the one 2.4 lock");
    }
    [Test]
    public void AnRtTaskThatYieldsKeepsItsGoodnessAndRunsOn()
    {
        // 2.4.20 sys_sched_yield sets SCHED_YIELD only for SCHED_OTHER: an RT task keeps
        // 1000 + rt_priority, so a lower RT task still cannot run.
        var k = KernelBuilder.New().Scheduler(SchedulerKind.Goodness24).Boot();
        var order = new List<string>();
        k.Spawn("rt50", async self =>
        {
            for (int i = 0; i < 5; i++)
            {
                await self.Compute(Ms.Of(1));
                await self.SchedYield();
                order.Add("rt50");
            }
        }, new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 50 });
        k.Spawn("rt10", async self =>
        {
            await self.Compute(Ms.Of(1));
            order.Add("rt10");
        }, new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 10 });
        k.RunUntilIdle().Should().BeTrue();
        order.Should().Equal("rt50", "rt50", "rt50", "rt50", "rt50", "rt10");
        k.AssertInvariants();
    }

    [Test]
    public void TheEpochRecalculationDoesNotHoldTheRunqueueLock()
    {
        // 2.4.20 recalculates every counter with runqueue_lock dropped (under tasklist_lock):
        // the runqueue lock's longest hold does not grow with the number of sleeping tasks.
        double MeanHold(int sleepers)
        {
            var k = KernelBuilder.New().Hz(100).Scheduler(SchedulerKind.Goodness24).Boot();
            for (int i = 0; i < sleepers; i++)
            {
                k.Spawn($"s{i}", async self => await self.Pause());
            }
            k.Spawn("hog", Programs.Hog);
            k.Run(Ms.Of(500)); // every sleeper is asleep by now
            var g = (GoodnessScheduler)k.Scheduler;
            long hold0 = g.RunqueueLock.HoldNs, acq0 = g.RunqueueLock.Acquisitions, recalc0 = g.Recalculations;
            k.Run(Ms.Of(2000));
            (g.Recalculations - recalc0).Should().BeGreaterThan(5);
            return (double)(g.RunqueueLock.HoldNs - hold0) / (g.RunqueueLock.Acquisitions - acq0);
        }
        double few = MeanHold(2), many = MeanHold(400);
        many.Should().BeLessThan(few + 100, "400 sleepers' recalculation is not a runqueue_lock hold");
    }
    [TestCase(SchedulerKind.Goodness24)]
    [TestCase(SchedulerKind.O1)]
    public void TwoThousandProgramsSpawnedAtOneInstantAllGetToRun(SchedulerKind kind)
    {
        // Host-side spawns are sequential setup on one CPU: their runqueue-lock holds are owed,
        // never spun on (they once added up to a quadratic, seconds-long spin).
        var k = KernelBuilder.New().Hz(100).Scheduler(kind).Boot();
        var tasks = Enumerable.Range(0, 2000).Select(i => k.Spawn($"s{i}", async self => await self.Pause())).ToList();
        k.Run(Ms.Of(1000));
        tasks.Should().OnlyContain(t => t.State == TaskState.TASK_INTERRUPTIBLE, "every program ran to its pause");
        k.AssertInvariants();
    }
}
