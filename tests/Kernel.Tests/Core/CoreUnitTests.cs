using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Events;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Core;

[Parallelizable(ParallelScope.All)]
public class CoreUnitTests
{
    private sealed class Log : IEventTarget
    {
        public readonly List<long> Args = new();

        public void OnEvent(long arg) => Args.Add(arg);
    }

    [Test]
    public void EventsAtTheSameTimeRunByPriorityThenInsertionOrder()
    {
        var q = new EventQueue();
        var log = new Log();
        q.Push(10, EventPriority.Segment, log, 1);
        q.Push(10, EventPriority.LocalTick, log, 2);
        q.Push(5, EventPriority.Other, log, 3);
        q.Push(10, EventPriority.LocalTick, log, 4);
        q.Push(10, EventPriority.GlobalTick, log, 5);
        while (q.TryPop(out _, out var t, out long a))
        {
            t.OnEvent(a);
        }
        log.Args.Should().Equal(3, 5, 2, 4, 1);
    }

    [Test]
    public void PrioArrayFindsTheHighestPriorityAndKeepsFifoOrder()
    {
        var m = new Machine(new MachineOptions(), new Kernel.Sched.O1.O1Scheduler());
        var a = m.AllocTask(10, "a");
        var b = m.AllocTask(11, "b");
        var c = m.AllocTask(12, "c");
        a.Prio = 120;
        b.Prio = 110;
        c.Prio = 120;
        var arr = new PrioArray();
        arr.FindFirstBit().Should().Be(PrioArray.MAX_PRIO, "an empty array stops at the delimiter bit");
        arr.Enqueue(a);
        arr.Enqueue(b);
        arr.Enqueue(c);
        arr.FindFirstBit().Should().Be(110);
        arr.Dequeue(b);
        arr.FindFirstBit().Should().Be(120);
        arr.First(120).Should().Be(a);
        arr.Requeue(a);
        arr.First(120).Should().Be(c);
        arr.NrActive.Should().Be(2);
        arr.CheckInvariants("t").Should().BeEmpty();
        arr.TestBit(110).Should().BeFalse("the bit clears when its queue empties");
    }

    [Test]
    public void PidsCountUpWrapToReservedPidsAndSkipPidsInUse()
    {
        var map = new PidMap(400);
        map.Alloc().Should().Be(1);
        map.Alloc().Should().Be(2);
        for (int i = 3; i < 400; i++)
        {
            map.Alloc().Should().Be(i);
        }
        map.Alloc().Should().Be(-1, "every pid is taken");
        map.Free(350);
        map.Free(5);
        map.Alloc().Should().Be(350, "after pid_max the cursor wraps to RESERVED_PIDS (300), not to 5");
        map.Alloc().Should().Be(-1, "pids below RESERVED_PIDS are never reused after a wrap");
    }

    [TestCase(100, 10u, 1u)]
    [TestCase(250, 10u, 3u)]
    [TestCase(250, 1u, 1u)]
    [TestCase(1000, 7u, 7u)]
    [TestCase(300, 10u, 3u)]
    public void MsecsToJiffiesRoundsUp(int hz, uint ms, uint jiffies)
    {
        new Hz(hz).MsecsToJiffies(ms).Should().Be(jiffies);
    }

    [Test]
    public void JiffiesStartFiveMinutesBeforeWrapping()
    {
        var hz = new Hz(250);
        hz.InitialJiffies.Should().Be(unchecked((uint)(-300 * 250)));
        Hz.TimeAfter(5u, 4294967290u).Should().BeTrue("time_after is wrap-safe");
        Hz.TimeBefore(4294967290u, 5u).Should().BeTrue();
    }

    [Test]
    public void KernelOptionsNestTheMachineOptionsAndTheShortcutsWriteThrough()
    {
        var a = new KernelOptions { Cpus = 3, Hz = 1000, Seed = 7 };
        a.Machine.Should().Be(new MachineOptions { Cpus = 3, Hz = 1000, Seed = 7 }, "the shortcuts set the nested record");
        var b = new KernelOptions { Machine = new MachineOptions { Cpus = 3, Hz = 1000, Seed = 7 } };
        b.Cpus.Should().Be(3);
        b.Should().Be(a, "either spelling gives the same options");
        (a with { Preempt = PreemptModel.Full }).Machine.Preempt.Should().Be(PreemptModel.Full);
        a.Machine.Preempt.Should().Be(PreemptModel.None, "records are values: `with` copied the machine");
        var k = LinuxKernel.Boot(b with { Memory = new Kernel.Mm.MemoryOptions { Arch = Kernel.Mm.Architecture.Flat64 } });
        k.Machine.Cpus.Should().HaveCount(3);
        k.Machine.Hz.Value.Should().Be(1000);
        k.Machine.Tasks.Pids.Capacity.Should().Be(4 * 1024 * 1024, "PID_MAX_LIMIT follows the architecture at boot");
    }

    [Test]
    public void JiffiesWrapAfterFiveMinutesOfSimulatedTime()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Hz = 100 });
        uint start = k.Machine.Jiffies;
        start.Should().Be(unchecked((uint)(-300 * 100)));
        k.Run(299L * Hz.NSEC_PER_SEC);
        k.Machine.Jiffies.Should().BeGreaterThan(start, "not wrapped yet at 299 s");
        k.Run(2L * Hz.NSEC_PER_SEC);
        k.Machine.Jiffies.Should().BeLessThan(1000u, "jiffies wrapped to 0 at 300 s");
    }

    [Test]
    public void PreemptCountLayoutMatchesLinux()
    {
        PreemptCount.PREEMPT_MASK.Should().Be(0x000000ff);
        PreemptCount.SOFTIRQ_MASK.Should().Be(0x0000ff00);
        PreemptCount.HARDIRQ_MASK.Should().Be(0x0fff0000);
        PreemptCount.PREEMPT_ACTIVE.Should().Be(0x10000000);
        PreemptCount.InInterrupt(PreemptCount.SOFTIRQ_OFFSET).Should().BeTrue();
        PreemptCount.InAtomic(PreemptCount.PREEMPT_ACTIVE).Should().BeFalse();
        PreemptCount.InAtomic(1).Should().BeTrue();
    }

    [Test]
    public void SeededRandomSourceReplays()
    {
        var a = new Prng(42);
        var b = new Prng(42);
        var c = new Prng(43);
        var xs = Enumerable.Range(0, 5).Select(_ => a.Next(1000)).ToArray();
        Enumerable.Range(0, 5).Select(_ => b.Next(1000)).Should().Equal(xs);
        Enumerable.Range(0, 5).Select(_ => c.Next(1000)).Should().NotEqual(xs);
    }
    [Test]
    public void CoreOffersTheTaskListKthreadsAndForceSigToSubsystemsBelowTheProcessLayer()
    {
        // What mm/oom_kill.c and kswapd need, reached through Machine alone.
        var k = KernelBuilder.New().Boot();
        var m = k.Machine;
        var victim = k.Spawn("victim", Programs.Hog);
        int woke = 0;
        var kswapd = m.KthreadCreate("kswapd0", async self =>
        {
            while (true)
            {
                woke++;
                var killed = PickLargest(self.Machine);
                if (killed is not null)
                {
                    self.Machine.ForceSig(killed, 9);
                }
                self.State = TaskState.TASK_INTERRUPTIBLE;
                await self.Machine.Schedule();
            }
        });
        k.Run(Ms.Of(20));
        kswapd.IsKernelThread.Should().BeTrue();
        kswapd.Mm.Should().BeNull();
        woke.Should().Be(1);
        victim.ExitState.Should().NotBe(TaskState.TASK_RUNNING, "force_sig(SIGKILL) from a kernel thread killed it");
        (victim.ExitCode & 0x7f).Should().Be(9);
        var order = new List<int>();
        foreach (var t in m.Tasks)
        {
            order.Add(t.Pid);
        }
        order.Should().BeInAscendingOrder("for_each_process walks in creation order, which here is pid order");
        order.Should().Contain(kswapd.Pid);
        k.AssertInvariants();

        static TaskStruct? PickLargest(Machine m)
        {
            foreach (var t in m.Tasks)
            {
                if (!t.IsKernelThread && t.Comm == "victim" && t.ExitState == 0)
                {
                    return t;
                }
            }
            return null;
        }
    }
}
