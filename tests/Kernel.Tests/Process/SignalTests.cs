using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Process;

[Parallelizable(ParallelScope.All)]
public class SignalTests
{
    [TestCase(Signals.SIGKILL, false)]
    [TestCase(Signals.SIGTERM, false)]
    [TestCase(Signals.SIGSEGV, true)]
    public void DefaultActionKillsAComputingTask(int sig, bool core)
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        WaitResult r = default;
        long kill = -1;
        k.Spawn("parent", async self =>
        {
            long child = await self.Fork(Programs.Hog);
            await self.Nanosleep(Ms.Of(30));
            kill = await self.Kill((int)child, sig);
            r = await self.Wait4((int)child);
        });
        k.RunUntilIdle().Should().BeTrue();
        kill.Should().Be(0);
        r.WIFSIGNALED.Should().BeTrue();
        r.WTERMSIG.Should().Be(sig);
        r.WCOREDUMP.Should().Be(core);
        k.AssertInvariants();
    }

    [Test]
    public void HandledSignalRunsTheHandlerAndTheTaskCarriesOn()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        var got = new List<int>();
        var t = k.Spawn("catcher", async self =>
        {
            self.Signal(Signals.SIGUSR1, s => got.Add(s));
            await self.Compute(Ms.Of(50));
            await self.Exit(5);
        });
        k.Spawn("sender", async self =>
        {
            await self.Nanosleep(Ms.Of(10));
            await self.Kill(t.Pid, Signals.SIGUSR1);
        });
        k.RunUntilIdle();
        got.Should().Equal(Signals.SIGUSR1);
        t.ExitCode.Should().Be(5 << 8);
        k.AssertInvariants();
    }

    [Test]
    public void NanosleepReturnsEintrAndTheRemainingTimeOnAHandledSignal()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        SleepResult res = default;
        long wokeAt = 0;
        var t = k.Spawn("sleeper", async self =>
        {
            self.Signal(Signals.SIGUSR1, _ => { });
            res = await self.Nanosleep(Ms.Of(100));
            wokeAt = self.Now;
        });
        k.Spawn("sender", async self =>
        {
            await self.Nanosleep(Ms.Of(30));
            await self.Kill(t.Pid, Signals.SIGUSR1);
        });
        k.RunUntilIdle();
        res.Ret.Should().Be(Errno.EINTR.Ret());
        res.Remaining.TotalNs.Should().BeCloseTo(Ms.Of(70), (ulong)Ms.Of(2));
        wokeAt.Should().BeCloseTo(Ms.Of(30), (ulong)Ms.Of(2));
        k.AssertInvariants();
    }

    [Test]
    public void StopAndContinueRestartAnInterruptedSleepWithoutEintr()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        SleepResult res = default;
        long doneAt = 0;
        var t = k.Spawn("sleeper", async self =>
        {
            res = await self.Nanosleep(Ms.Of(100));
            doneAt = self.Now;
        });
        k.Spawn("ctl", async self =>
        {
            await self.Nanosleep(Ms.Of(20));
            await self.Kill(t.Pid, Signals.SIGSTOP);
            await self.Nanosleep(Ms.Of(10));
            await self.Kill(t.Pid, Signals.SIGCONT);
        });
        k.Run(Ms.Of(25));
        t.State.Should().Be(TaskState.TASK_STOPPED);
        k.RunUntilIdle();
        res.Ret.Should().Be(0);
        doneAt.Should().BeCloseTo(Ms.Of(100), (ulong)Ms.Of(2), "the sleep restarts for the remaining time");
        k.AssertInvariants();
    }

    [Test]
    public void SigstopFreezesAHogAndSigcontResumesIt()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        var hog = k.Spawn("hog", Programs.Hog);
        var statuses = new List<int>();
        k.Spawn("ctl", async self =>
        {
            await self.Nanosleep(Ms.Of(20));
            await self.Kill(hog.Pid, Signals.SIGSTOP);
            await self.Nanosleep(Ms.Of(100));
            await self.Kill(hog.Pid, Signals.SIGCONT);
        });
        k.Run(Ms.Of(40));
        hog.State.Should().Be(TaskState.TASK_STOPPED);
        k.Proc.Read($"/proc/{hog.Pid}/status")!.Should().Contain("State:\tT (stopped)");
        long frozen = hog.SumExecRuntimeNs;
        k.Run(Ms.Of(60));
        hog.SumExecRuntimeNs.Should().Be(frozen, "a stopped task gets no CPU");
        k.Run(Ms.Of(100));
        hog.State.Should().Be(TaskState.TASK_RUNNING);
        hog.SumExecRuntimeNs.Should().BeGreaterThan(frozen + Ms.Of(50));
        k.AssertInvariants();
    }

    [Test]
    public void WaitWithWuntracedReportsAStoppedChild()
    {
        var k = KernelBuilder.New().Boot();
        var seen = new List<WaitResult>();
        k.Spawn("parent", async self =>
        {
            long child = await self.Fork(Programs.Hog);
            await self.Nanosleep(Ms.Of(5));
            await self.Kill((int)child, Signals.SIGSTOP);
            seen.Add(await self.Wait4((int)child, WaitOptions.WUNTRACED));
            await self.Kill((int)child, Signals.SIGCONT);
            seen.Add(await self.Wait4((int)child, WaitOptions.WCONTINUED));
            await self.Kill((int)child, Signals.SIGKILL);
            seen.Add(await self.Wait4((int)child));
        });
        k.RunUntilIdle().Should().BeTrue();
        seen[0].WIFSTOPPED.Should().BeTrue();
        seen[0].WSTOPSIG.Should().Be(Signals.SIGSTOP);
        seen[1].WIFCONTINUED.Should().BeTrue();
        seen[2].WTERMSIG.Should().Be(Signals.SIGKILL);
        k.AssertInvariants();
    }

    [Test]
    public void ParentWithAHandlerGetsSigchldWhenAChildExits()
    {
        var k = KernelBuilder.New().Boot();
        int chld = 0;
        long pause = 0;
        k.Spawn("parent", async self =>
        {
            self.Signal(Signals.SIGCHLD, _ => chld++);
            await self.Fork(async c =>
            {
                await c.Nanosleep(Ms.Of(10));
                await c.Compute(Ms.Of(2));
            });
            pause = await self.Pause();
            await self.Wait4(-1);
        });
        k.RunUntilIdle();
        chld.Should().Be(1);
        pause.Should().Be(Errno.EINTR.Ret());
        k.AssertInvariants();
    }

    [Test]
    public void SignalsFromTheHostReachTheTask()
    {
        var k = KernelBuilder.New().Boot();
        var hog = k.Spawn("hog", Programs.Hog);
        k.Run(Ms.Of(5));
        k.SendSignal(hog, Signals.SIGKILL);
        k.RunUntilIdle().Should().BeTrue();
        hog.ExitState.Should().Be(TaskState.EXIT_DEAD);
        hog.ExitCode.Should().Be(Signals.SIGKILL);
        k.AssertInvariants();
    }

    [Test]
    public void KillingAProcessGroupReachesEveryMember()
    {
        var k = KernelBuilder.New().Boot();
        var statuses = new List<int>();
        k.Spawn("leader", async self =>
        {
            await self.Fork(Programs.Hog);
            await self.Fork(Programs.Hog);
            self.SignalIgnore(Signals.SIGTERM); // after the forks: children inherit SIG_IGN
            await self.Nanosleep(Ms.Of(5));
            (await self.Kill(0, Signals.SIGTERM)).Should().Be(0);
            statuses.Add((await self.Wait4(-1)).Status);
            statuses.Add((await self.Wait4(-1)).Status);
        });
        k.RunUntilIdle().Should().BeTrue();
        statuses.Should().Equal(Signals.SIGTERM, Signals.SIGTERM);
        k.AssertInvariants();
    }

    [Test]
    public void ForkCopiesTheSignalActionsSoAChildsChangesStayItsOwn()
    {
        var k = KernelBuilder.New().Boot();
        string parentBefore = "", parentAfter = "", child = "";
        k.Spawn("parent", async self =>
        {
            self.Signal(Signals.SIGUSR1, _ => { });
            parentBefore = self.Kernel.Proc.Read($"/proc/{self.TaskStruct.Pid}/status")!;
            long pid = await self.Fork(async c =>
            {
                c.SignalIgnore(Signals.SIGUSR2);
                c.Signal(Signals.SIGUSR1, null); // back to SIG_DFL in the child only
                child = c.Kernel.Proc.Read($"/proc/{c.TaskStruct.Pid}/status")!;
                await c.Exit(0);
            });
            await self.Wait4((int)pid);
            parentAfter = self.Kernel.Proc.Read($"/proc/{self.TaskStruct.Pid}/status")!;
        });
        k.RunUntilIdle().Should().BeTrue();
        string usr1 = (1UL << (Signals.SIGUSR1 - 1)).ToString("x16");
        string usr2 = (1UL << (Signals.SIGUSR2 - 1)).ToString("x16");
        parentBefore.Should().Contain($"SigCgt:\t{usr1}");
        parentAfter.Should().Contain($"SigCgt:\t{usr1}", "the child's SIG_DFL did not reach the parent's sighand")
            .And.Contain("SigIgn:\t0000000000000000", "nor did its SIG_IGN");
        child.Should().Contain($"SigIgn:\t{usr2}").And.Contain("SigCgt:\t0000000000000000");
        k.AssertInvariants();
    }
}
