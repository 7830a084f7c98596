using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Sched;

[Parallelizable(ParallelScope.All)]
public class SmpBalanceTests
{
    private static UserProgram ForkHogs(int n) => async self =>
    {
        for (int i = 0; i < n; i++)
        {
            await self.Fork(Programs.Hog, "hog");
        }
        await self.Wait4(-1);
    };

    [Test]
    public void EightHogsForkedOnOneCpuSpreadToTwoPerCpuOnFour()
    {
        var k = KernelBuilder.New().Cpus(4).Boot();
        k.Spawn("parent", ForkHogs(8));
        k.Run(Ms.Of(3000));
        for (int c = 0; c < 4; c++)
        {
            k.Scheduler.NrRunning(c).Should().Be(2, $"cpu{c} should carry two of the eight hogs");
        }
        k.AssertInvariants();
    }

    [Test]
    public void AnIdleCpuPullsWorkQuickly()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        k.Spawn("parent", ForkHogs(2));
        k.Run(Ms.Of(50));
        k.Machine.Cpus.Should().OnlyContain(c => !c.IsIdle, "the idle CPU pulls the second hog within a few ms");
        k.AssertInvariants();
    }

    [Test]
    public void ASteadyLoadDoesNotPingPong()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        k.Spawn("parent", ForkHogs(4));
        k.Run(Ms.Of(2000));
        long before = k.Tasks.Sum(t => t.Migrations);
        k.Run(Ms.Of(10_000));
        long after = k.Tasks.Sum(t => t.Migrations);
        (after - before).Should().BeLessThanOrEqualTo(1, "two hogs per CPU is balanced: nothing should move back and forth");
        k.AssertInvariants();
    }

    [Test]
    public void AffinityIsNeverViolated()
    {
        var k = KernelBuilder.New().Cpus(4).Boot();
        var masks = new[] { CpuMask.Of(0), CpuMask.Of(0, 1), CpuMask.Of(1, 2), CpuMask.Of(3), CpuMask.Of(2, 3), CpuMask.All, CpuMask.Of(0), CpuMask.Of(1) };
        var byPid = new Dictionary<int, CpuMask>();
        foreach (var m in masks)
        {
            var t = k.Spawn("pinned", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = m });
            byPid[t.Pid] = m;
        }
        var violations = new List<string>();
        k.Trace.SchedSwitch += s =>
        {
            if (byPid.TryGetValue(s.NextPid, out var m) && !m.IsSet(s.Cpu))
            {
                violations.Add($"{s.NextPid} on cpu{s.Cpu}");
            }
        };
        k.Run(Ms.Of(3000));
        violations.Should().BeEmpty();
        k.AssertInvariants();
    }

    [Test]
    public void SetaffinityMovesARunningTaskThroughTheMigrationThread()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        var hog = k.Spawn("hog", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        long ret = -1;
        k.Spawn("admin", async self =>
        {
            await self.Nanosleep(Ms.Of(20));
            ret = await self.SchedSetaffinity(hog.Pid, CpuMask.Of(1));
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        var log = new RunLog();
        k.Trace.AddSink(log);
        k.Run(Ms.Of(400));
        ret.Should().Be(0);
        hog.Cpu.Should().Be(1);
        hog.Migrations.Should().BeGreaterThan(0);
        var later = log.Switches.Where(s => s.NextPid == hog.Pid && s.TimeNs > Ms.Of(25)).ToList();
        later.Should().NotBeEmpty();
        later.Should().OnlyContain(s => s.Cpu == 1, "after the call the hog only runs on its new CPU");
        k.AssertInvariants();
    }

    [Test]
    public void ActiveBalancingPushesTheRunningTaskThroughTheMigrationThread()
    {
        // load_balance asks for an active push when passive pulls keep failing; drive that
        // request directly and watch migration/0 move the running hog to CPU 1.
        var k = KernelBuilder.New().Cpus(2).Boot();
        var a = k.Spawn("a", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        var b = k.Spawn("b", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Run(Ms.Of(50));
        var o1 = (Kernel.Sched.O1.O1Scheduler)k.Scheduler;
        var rq0 = o1.CpuRq(0);
        var running = k.Machine.Cpus[0].Curr;
        running.CpusAllowed = CpuMask.All;
        rq0.NrRunning.Should().Be(2);
        var sd = o1.Domains(1).Single();
        sd.NrBalanceFailed = sd.CacheNiceTries + 1; // as load_balance leaves it when it asks for a push
        rq0.ActiveBalance = true;
        rq0.PushCpu = 1;
        k.Machine.EnterHostContext();
        k.Machine.WakeUpProcess(rq0.MigrationThread!);
        k.Run(Ms.Of(5));
        sd.AlbCnt.Should().Be(1);
        sd.AlbPushed.Should().Be(1);
        running.Cpu.Should().Be(1, "the migration thread preempted it and moved it to the push CPU");
        rq0.ActiveBalance.Should().BeFalse();
        k.AssertInvariants();
    }
    [Test]
    public void MovingAQueuedTaskBySetaffinityGivesItNoSleepCredit()
    {
        // __migrate_task uses __activate_task: a move is not a wake-up.
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        var a = k.Spawn("a", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        var b = k.Spawn("b", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Run(Ms.Of(500));
        var queued = k.Machine.Cpus[0].Curr == a ? b : a;
        long sleepAvg = queued.SleepAvg;
        var sleepType = queued.SleepType;
        k.Spawn("mover", async self => await self.SchedSetaffinity(queued.Pid, CpuMask.Of(1)), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        k.RunUntil(() => queued.Cpu == 1, Ms.Of(50)).Should().BeTrue();
        queued.SleepAvg.Should().Be(sleepAvg, "no recalc_task_prio on a migration");
        queued.SleepType.Should().Be(sleepType);
        k.AssertInvariants();
    }

    [Test]
    public void TaskHotSeesTheLastSwitchAndAForkedChildInheritsLastRan()
    {
        // update_cpu_clock runs at every switch as well as every tick, and dup_task_struct copies
        // last_ran: task_hot's inputs as 2.6.20 has them.
        var k = KernelBuilder.New().Cpus(1).Hz(100).Boot();
        var o1 = (Kernel.Sched.O1.O1Scheduler)k.Scheduler;
        TaskStruct? child = null;
        long lastRanAtFork = 0, childLastRan = 0;
        var parent = k.Spawn("parent", async self =>
        {
            await self.Compute(Ms.Of(3));
            await self.Nanosleep(TimeSpec.FromMilliseconds(30));
            await self.Compute(Ms.Of(1));
            lastRanAtFork = self.TaskStruct.LastRan;
            // CLONE_VM: the parent goes on first, so the child has not yet run (and switched out).
            long pid = await self.Clone(CloneFlags.CLONE_VM | (CloneFlags)Signals.SIGCHLD, async c => await c.Pause());
            child = self.Kernel.FindTask((int)pid);
            childLastRan = child!.LastRan;
            await self.Pause();
        });
        bool slept = k.RunUntil(() => parent.State == TaskState.TASK_INTERRUPTIBLE, Ms.Of(9));
        slept.Should().BeTrue();
        o1.CpuRq(0).MostRecentTimestamp.Should().BeInRange(Ms.Of(3), Ms.Of(3.1), "the switch at ~3 ms, between ticks, updated it");
        k.Run(Ms.Of(100));
        child.Should().NotBeNull();
        lastRanAtFork.Should().BeGreaterThan(Ms.Of(3), "the parent last switched out at its sleep");
        childLastRan.Should().Be(lastRanAtFork, "a fresh child is as cache-hot as its parent");
        k.AssertInvariants();
    }
}
