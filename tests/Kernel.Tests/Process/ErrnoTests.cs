using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Process;

/// <summary>Bad input gets Linux's answer: each case from a program, as a table (xv6 usertests style).</summary>
[Parallelizable(ParallelScope.All)]
public class ErrnoTests
{
    private static long RunAs(int uid, Func<Syscalls.UserTask, ValueTask<long>> call, int cpus = 2)
    {
        var k = KernelBuilder.New().Cpus(cpus).Boot();
        long ret = long.MinValue;
        k.Spawn("victim", Programs.Hog, new LinuxKernel.SpawnOptions { Uid = 0 });
        k.Spawn("caller", async self => ret = await call(self), new LinuxKernel.SpawnOptions { Uid = uid });
        k.Run(Ms.Of(20));
        k.AssertInvariants();
        return ret;
    }

    private const int Victim = 4; // first spawned process after init (1) and two migration threads

    public static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData C(string name, int uid, Func<Syscalls.UserTask, ValueTask<long>> call, long expected) =>
            new TestCaseData(uid, call, expected).SetName(name);

        yield return C("SetschedulerWithUnknownPolicyIsEinval", 0, s => s.SchedSetscheduler(0, (SchedPolicy)7, 0), Errno.EINVAL.Ret());
        yield return C("FifoPriorityZeroIsEinval", 0, s => s.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 0), Errno.EINVAL.Ret());
        yield return C("FifoPriority100IsEinval", 0, s => s.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 100), Errno.EINVAL.Ret());
        yield return C("NormalPolicyWithPriorityIsEinval", 0, s => s.SchedSetscheduler(0, SchedPolicy.SCHED_NORMAL, 5), Errno.EINVAL.Ret());
        yield return C("NegativePidIsEinval", 0, s => s.SchedSetscheduler(-1, SchedPolicy.SCHED_NORMAL, 0), Errno.EINVAL.Ret());
        yield return C("UnknownPidIsEsrch", 0, s => s.SchedSetscheduler(30000, SchedPolicy.SCHED_NORMAL, 0), Errno.ESRCH.Ret());
        yield return C("UnprivilegedRealTimeIsEperm", 1000, s => s.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 10), Errno.EPERM.Ret());
        yield return C("RootMayBecomeRealTime", 0, s => s.SchedSetscheduler(0, SchedPolicy.SCHED_RR, 10), 0);
        yield return C("ChangingAnotherUsersTaskIsEperm", 1000, s => s.SchedSetscheduler(Victim, SchedPolicy.SCHED_BATCH, 0), Errno.EPERM.Ret());
        yield return C("GetschedulerOfUnknownPidIsEsrch", 0, s => ValueTask.FromResult(s.SchedGetscheduler(30000)), Errno.ESRCH.Ret());
        yield return C("GetPriorityMaxOfBadPolicyIsEinval", 0, s => ValueTask.FromResult(s.SchedGetPriorityMax((SchedPolicy)9)), Errno.EINVAL.Ret());
        yield return C("GetPriorityMaxOfFifoIs99", 0, s => ValueTask.FromResult(s.SchedGetPriorityMax(SchedPolicy.SCHED_FIFO)), 99);
        yield return C("GetPriorityMinOfRrIs1", 0, s => ValueTask.FromResult(s.SchedGetPriorityMin(SchedPolicy.SCHED_RR)), 1);
        yield return C("GetPriorityMinOfNormalIs0", 0, s => ValueTask.FromResult(s.SchedGetPriorityMin(SchedPolicy.SCHED_NORMAL)), 0);
        yield return C("RrGetIntervalOfNegativePidIsEinval", 0, s => ValueTask.FromResult(s.SchedRrGetInterval(-5)), Errno.EINVAL.Ret());
        yield return C("EmptyAffinityMaskIsEinval", 0, s => s.SchedSetaffinity(0, CpuMask.None), Errno.EINVAL.Ret());
        yield return C("OfflineOnlyAffinityMaskIsEinval", 0, s => s.SchedSetaffinity(0, CpuMask.Of(5)), Errno.EINVAL.Ret());
        yield return C("AffinityOfAnotherUsersTaskIsEperm", 1000, s => s.SchedSetaffinity(Victim, CpuMask.Of(0)), Errno.EPERM.Ret());
        yield return C("AffinityOfUnknownPidIsEsrch", 0, s => s.SchedSetaffinity(30000, CpuMask.Of(0)), Errno.ESRCH.Ret());
        yield return C("UnprivilegedNegativeNiceIsEperm", 1000, s => s.Nice(-1), Errno.EPERM.Ret());
        yield return C("PositiveNiceIsAllowed", 1000, s => s.Nice(5), 0);
        yield return C("SetpriorityRaisingPriorityUnprivilegedIsEacces", 1000, s => s.Setpriority(PrioWhich.PRIO_PROCESS, 0, -5), Errno.EACCES.Ret());
        yield return C("SetpriorityOnAnotherUsersTaskIsEperm", 1000, s => s.Setpriority(PrioWhich.PRIO_PROCESS, Victim, 5), Errno.EPERM.Ret());
        yield return C("SetpriorityWithBadWhichIsEinval", 0, s => s.Setpriority((PrioWhich)7, 0, 5), Errno.EINVAL.Ret());
        yield return C("GetpriorityOfUnknownPidIsEsrch", 0, s => ValueTask.FromResult(s.Getpriority(PrioWhich.PRIO_PROCESS, 30000)), Errno.ESRCH.Ret());
        yield return C("KillWithBadSignalIsEinval", 0, s => s.Kill(Victim, 65), Errno.EINVAL.Ret());
        yield return C("KillUnknownPidIsEsrch", 0, s => s.Kill(30000, Signals.SIGTERM), Errno.ESRCH.Ret());
        yield return C("KillAnotherUsersTaskIsEperm", 1000, s => s.Kill(Victim, Signals.SIGTERM), Errno.EPERM.Ret());
        yield return C("KillWithSignalZeroChecksOnly", 0, s => s.Kill(Victim, 0), 0);
        yield return C("WaitWithoutChildrenIsEchild", 0, async s => (await s.Wait4(-1)).Pid, Errno.ECHILD.Ret());
        yield return C("WaitForANonChildIsEchild", 0, async s => (await s.Wait4(Victim)).Pid, Errno.ECHILD.Ret());
        yield return C("NanosleepWithBadNsecIsEinval", 0, async s => (await s.Nanosleep(new TimeSpec(0, 1_000_000_000))).Ret, Errno.EINVAL.Ret());
        yield return C("NanosleepWithNegativeTimeIsEinval", 0, async s => (await s.Nanosleep(new TimeSpec(-1, 0))).Ret, Errno.EINVAL.Ret());
        yield return C("CatchingSigkillIsEinval", 0, s => ValueTask.FromResult(s.Signal(Signals.SIGKILL, _ => { })), Errno.EINVAL.Ret());
        yield return C("CloneThreadWithoutSighandIsEinval", 0, s => s.Clone(CloneFlags.CLONE_THREAD | CloneFlags.CLONE_VM, _ => ValueTask.CompletedTask), Errno.EINVAL.Ret());
        yield return C("UnprivilegedSetuidToAnotherUserIsEperm", 1000, s => ValueTask.FromResult(s.Setuid(0)), Errno.EPERM.Ret());
    }

    [TestCaseSource(nameof(Cases))]
    public void Syscall(int uid, Func<Syscalls.UserTask, ValueTask<long>> call, long expected)
    {
        RunAs(uid, call).Should().Be(expected);
    }

    [Test]
    public void NiceClampsToNineteen()
    {
        var k = KernelBuilder.New().Boot();
        long prio = 0;
        var t = k.Spawn("t", async self =>
        {
            (await self.Nice(100)).Should().Be(0);
            prio = self.Getpriority(PrioWhich.PRIO_PROCESS, 0);
        });
        k.RunUntilIdle();
        t.Nice.Should().Be(19);
        prio.Should().Be(1, "the raw getpriority syscall returns 20 - nice");
    }

    [Test]
    public void RootMayLowerNiceToMinusTwentyAndNoFurther()
    {
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("t", async self => (await self.Nice(-100)).Should().Be(0));
        k.RunUntilIdle();
        t.Nice.Should().Be(-20);
    }

    [Test]
    public void SchedGetaffinityReportsOnlineCpus()
    {
        var k = KernelBuilder.New().Cpus(3).Boot();
        CpuMask m = default;
        long ret = -1;
        k.Spawn("t", self =>
        {
            m = self.SchedGetaffinity(0, out ret);
            return ValueTask.CompletedTask;
        });
        k.RunUntilIdle();
        ret.Should().Be(0);
        m.Should().Be(CpuMask.Of(0, 1, 2));
    }
}

[Parallelizable(ParallelScope.All)]
public class HostApiMisuseTests
{
    [TestCase(0)]
    [TestCase(65)]
    public void BootWithABadCpuCountThrows(int cpus)
    {
        var act = () => LinuxKernel.Boot(new KernelOptions { Cpus = cpus });
        act.Should().Throw<ArgumentException>();
    }

    [Test]
    public void BootWithAnUnsupportedHzThrows()
    {
        var act = () => LinuxKernel.Boot(new KernelOptions { Hz = 123 });
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void NegativeCostsAreRejected()
    {
        var act = () => LinuxKernel.Boot(new KernelOptions { Costs = CostTable.Default with { ContextSwitchNs = -1 } });
        act.Should().Throw<ArgumentException>().WithMessage("*ContextSwitchNs*");
    }

    [Test]
    public void SpawnWithBadOptionsThrows()
    {
        var k = LinuxKernel.Boot();
        ((Action)(() => k.Spawn("x", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = 40 }))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => k.Spawn("x", Programs.Hog, new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 0 }))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => k.Spawn("x", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(7) }))).Should().Throw<ArgumentException>();
        ((Action)(() => k.Spawn("x", null!))).Should().Throw<ArgumentNullException>();
        k.AssertInvariants();
    }

    [Test]
    public void RunningBackwardsThrows()
    {
        var k = LinuxKernel.Boot();
        k.Run(Ms.Of(10));
        ((Action)(() => k.Machine.RunTo(Ms.Of(5)))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => k.Run(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void UsingAHandleOutsideItsProgramThrows()
    {
        var k = LinuxKernel.Boot();
        Syscalls.UserTask? leaked = null;
        k.Spawn("t", async self =>
        {
            leaked = self;
            await self.Nanosleep(Ms.Of(50));
        });
        k.Run(Ms.Of(10));
        ((Action)(() => leaked!.Getpid())).Should().Throw<InvalidOperationException>();
        // Host misuse under test: the call throws, so there is no ValueTask to await.
#pragma warning disable CA2012
        ((Action)(() => k.Machine.Compute(leaked!.TaskStruct, 5))).Should().Throw<InvalidOperationException>();
#pragma warning restore CA2012
        k.RunUntilIdle();
        k.AssertInvariants();
    }

    [Test]
    public void RunCannotBeCalledFromEmulatedCode()
    {
        var k = LinuxKernel.Boot();
        k.Spawn("t", _ =>
        {
            k.Run(5);
            return ValueTask.CompletedTask;
        });
        var act = () => k.RunUntilIdle();
        act.Should().Throw<EmulatedProgramException>().WithInnerException<InvalidOperationException>();
    }

    [Test]
    public void ADisposedKernelRefusesToRunButStillAnswersReads()
    {
        var k = LinuxKernel.Boot();
        var t = k.Spawn("t", Programs.Hog);
        k.Run(Ms.Of(10));
        k.Dispose();
        ((Action)(() => k.Run(1))).Should().Throw<ObjectDisposedException>();
        ((Action)(() => k.Spawn("x", Programs.Hog))).Should().Throw<ObjectDisposedException>();
        k.Proc.Read($"/proc/{t.Pid}/stat").Should().NotBeNull();
    }
}
