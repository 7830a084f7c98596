using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Sched;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Preempt;

[Parallelizable(ParallelScope.All)]
public class PreemptionModelTests
{
    private const double SpinHoldMs = 0.1;     // longest spinlock hold in the long syscall
    private const double Spacing = 0.3;        // distance between might_sleep points
    private const int Chunks = 50;             // the syscall lasts Chunks * Spacing = 15 ms

    /// <summary>
    /// A long syscall (like a big read through the page cache): chunks of work under a spinlock,
    /// then work with preemption enabled, with a might_sleep() between chunks.
    /// </summary>
    private static async ValueTask<long> LongSyscall(Machine m, KSpinLock l)
    {
        for (int i = 0; i < Chunks; i++)
        {
            await l.Lock(m);
            await m.Work(Ms.Of(SpinHoldMs));
            await l.Unlock(m);
            await m.MightSleep();
            await m.Work(Ms.Of(Spacing - SpinHoldMs));
        }
        return 0;
    }

    private static List<long> RtLatencies(PreemptModel model)
    {
        var k = KernelBuilder.New().Hz(1000).Preempt(model).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        var l = new KSpinLock("test_lock");
        k.Spawn("syscaller", async self =>
        {
            while (true)
            {
                await self.KernelCall(m => LongSyscall(m, l));
            }
        });
        var rt = k.Spawn("rt", Programs.Sleeper(3.3, 0.01, 60), new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 50 });
        k.RunUntilExit(rt, Ms.Of(2000)).Should().BeTrue();
        k.Machine.Oopses.Should().BeEmpty();
        k.AssertInvariants();
        return log.WakeupLatencies(rt.Pid);
    }

    [Test]
    public void FullPreemptionBoundsRtLatencyByTheLongestSpinlockHold()
    {
        var lat = RtLatencies(PreemptModel.Full);
        lat.Should().HaveCountGreaterThan(50);
        lat.Max().Should().BeLessThanOrEqualTo(Ms.Of(SpinHoldMs) + 10_000, "preemption happens at the spin_unlock at the latest");
    }

    [Test]
    public void VoluntaryPreemptionBoundsRtLatencyByTheCondReschedSpacing()
    {
        var lat = RtLatencies(PreemptModel.Voluntary);
        lat.Max().Should().BeLessThanOrEqualTo(Ms.Of(Spacing) + 10_000);
        lat.Max().Should().BeGreaterThan(Ms.Of(SpinHoldMs) + 10_000, "work between might_sleep points is not preemptible");
    }

    [Test]
    public void NoPreemptionBoundsRtLatencyOnlyByTheSyscallLength()
    {
        var lat = RtLatencies(PreemptModel.None);
        lat.Max().Should().BeLessThanOrEqualTo(Ms.Of(Chunks * Spacing) + 20_000);
        lat.Max().Should().BeGreaterThan(Ms.Of(Spacing * 5), "the task in the kernel keeps the CPU until it returns to user mode");
    }

    [TestCase(PreemptModel.Full, 1)]
    [TestCase(PreemptModel.Voluntary, 0)]
    [TestCase(PreemptModel.None, 0)]
    public void SpinLockRaisesPreemptCountOnlyUnderConfigPreempt(PreemptModel model, int expected)
    {
        var k = KernelBuilder.New().Preempt(model).Boot();
        int seen = -1;
        var l = new KSpinLock("l");
        k.Spawn("t", async self =>
        {
            await self.KernelCall(async m =>
            {
                await l.Lock(m);
                seen = m.Current.PreemptCount;
                await l.Unlock(m);
                return 0;
            });
        });
        k.RunUntilIdle();
        seen.Should().Be(expected);
        k.AssertInvariants();
    }

    [TestCase(PreemptModel.Full, "0x00000001")]
    [TestCase(PreemptModel.None, "0x00000000")]
    public void SchedulingWhileHoldingASpinlockIsReportedAsABug(PreemptModel model, string count)
    {
        var k = KernelBuilder.New().Preempt(model).Boot();
        var l = new KSpinLock("l");
        var t = k.Spawn("bad", async self =>
        {
            await self.KernelCall(async m =>
            {
                await l.Lock(m);
                await m.Schedule();
                await l.Unlock(m);
                return 0;
            });
        });
        k.RunUntilIdle();
        k.Machine.Oopses.Should().ContainSingle();
        k.Machine.Oopses[0].Message.Should().Be($"BUG: scheduling while atomic: bad/{count}/{t.Pid}");
        k.Machine.Oopses[0].Dump.Should().Contain("1 spinlock(s) held");
        k.AssertInvariants();
    }

    [Test]
    public void PanicOnOopsTurnsTheWarningIntoAKernelBug()
    {
        var k = KernelBuilder.New().Preempt(PreemptModel.Full).With(o => o with { PanicOnOops = true }).Boot();
        var l = new KSpinLock("l");
        k.Spawn("bad", async self =>
        {
            await self.KernelCall(async m =>
            {
                await l.Lock(m);
                await m.Schedule();
                await l.Unlock(m);
                return 0;
            });
        });
        var act = () => k.RunUntilIdle();
        act.Should().Throw<KernelBug>().WithMessage("BUG: scheduling while atomic: bad/0x00000001/*");
    }

    [Test]
    public void AnInterruptHandlerThatTriesToSleepIsAKernelBug()
    {
        var k = KernelBuilder.New().Boot();
        k.Spawn("arm", async self =>
        {
            await self.KernelCall(m =>
            {
                // The bug under test: a timer callback (interrupt context) calls schedule(), which
                // throws before any ValueTask exists to await.
#pragma warning disable CA2012
                new KTimer(_ => m.Schedule()).Start(m, m.Now + Ms.Of(1));
#pragma warning restore CA2012
                return ValueTask.FromResult(0L);
            });
        });
        var act = () => k.Run(Ms.Of(20));
        act.Should().Throw<KernelBug>().WithMessage("BUG: scheduling while atomic*interrupt context*");
    }

    [Test]
    public void ContendedSpinlockMakesTheOtherCpuSpinAndCountsTheSpinTime()
    {
        var k = KernelBuilder.New().Cpus(2).FreeCosts().Boot();
        var l = new KSpinLock("shared");
        UserProgram holder = async self =>
        {
            await self.KernelCall(async m =>
            {
                await l.Lock(m);
                await m.Work(Ms.Of(2));
                await l.Unlock(m);
                return 0;
            });
        };
        var a = k.Spawn("a", holder, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        var b = k.Spawn("b", holder, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        k.RunUntilIdle().Should().BeTrue();
        l.Acquisitions.Should().Be(2);
        l.Contentions.Should().Be(1);
        l.SpinNs.Should().BeCloseTo(Ms.Of(2), 100_000, "the second CPU spins for the first one's whole hold");
        (a.SumExecRuntimeNs + b.SumExecRuntimeNs).Should().BeCloseTo(Ms.Of(6), 200_000, "spinning burns CPU time");
        k.AssertInvariants();
    }

    [Test]
    public void MightSleepInAtomicContextWarns()
    {
        var k = KernelBuilder.New().Preempt(PreemptModel.Full).Boot();
        var l = new KSpinLock("l");
        k.Spawn("t", async self =>
        {
            await self.KernelCall(async m =>
            {
                await l.Lock(m);
                await m.MightSleep();
                await l.Unlock(m);
                return 0;
            });
        });
        k.RunUntilIdle();
        k.Machine.Oopses.Should().ContainSingle().Which.Message.Should().StartWith("BUG: sleeping function called from invalid context");
    }
    [TestCase(SchedulerKind.O1)]
    [TestCase(SchedulerKind.Goodness24)]
    public void AForkedTaskIsKernelPreemptibleUnderConfigPreempt(SchedulerKind sched)
    {
        // sched_fork leaves the child preempt_count 1; schedule_tail must drop it at its first run,
        // or the child is never kernel-preempted and every might_sleep reports a false BUG.
        var k = KernelBuilder.New().Hz(1000).Preempt(PreemptModel.Full).Scheduler(sched).Boot();
        int countInChild = -1;
        k.Spawn("parent", async self =>
        {
            await self.Fork(async c =>
            {
                await c.KernelCall(async m =>
                {
                    countInChild = m.Current.PreemptCount;
                    await m.MightSleep();
                    await m.Work(Ms.Of(20));
                    return 0;
                });
            });
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        var rt = k.Spawn("rt", Programs.Sleeper(5, 0.01, 1), new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 50 });
        var log = new RunLog();
        k.Trace.AddSink(log);
        k.RunUntilExit(rt, Ms.Of(100)).Should().BeTrue();
        countInChild.Should().Be(0, "schedule_tail dropped the count sched_fork set");
        log.WakeupLatencies(rt.Pid).Max().Should().BeLessThan(Ms.Of(0.1), "the forked child in a kernel path is preempted at once");
        k.Machine.Oopses.Should().BeEmpty();
        k.RunUntilIdle();
        k.AssertInvariants();
    }

    [TestCase(PreemptModel.None, false)]
    [TestCase(PreemptModel.Voluntary, false)]
    [TestCase(PreemptModel.Full, true)]
    public void KernelTimeOwedByASyscallIsAKernelSectionTheModelGoverns(PreemptModel model, bool preempted)
    {
        // The syscall's kernel time (here a costly syscall entry) is paid before the task's user
        // work; a wake-up landing in it preempts only under CONFIG_PREEMPT, else at the return to user.
        var k = KernelBuilder.New().Hz(1000).Preempt(model)
            .With(o => o with { Costs = CostTable.Default with { SyscallNs = Ms.Of(3) } }).Boot();
        var log = new RunLog();
        k.Trace.AddSink(log);
        k.Spawn("caller", async self =>
        {
            await self.Compute(Ms.Of(0.5));
            self.Getpid();                       // 3 ms in the kernel, paid from here on
            await self.Compute(Ms.Of(10));
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        var rt = k.Spawn("rt", Programs.Sleeper(1, 0.01, 1), new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 50, CpusAllowed = CpuMask.Of(0) });
        k.RunUntilExit(rt, Ms.Of(100)).Should().BeTrue();
        long latency = log.WakeupLatencies(rt.Pid).Max();
        if (preempted)
        {
            latency.Should().BeLessThan(Ms.Of(0.1));
        }
        else
        {
            latency.Should().BeGreaterThan(Ms.Of(1.5), "the kernel section runs to its end");
            latency.Should().BeLessThan(Ms.Of(3.5), "the return to user mode reschedules at once, not at the next tick");
        }
        k.RunUntilIdle();
        k.AssertInvariants();
    }
}
