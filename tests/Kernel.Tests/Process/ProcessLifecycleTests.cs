using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Process;

[Parallelizable(ParallelScope.All)]
public class ProcessLifecycleTests
{
    [Test]
    public void ForkReturnsTheChildPidAndWaitReapsItsExitStatus()
    {
        var k = KernelBuilder.New().Boot();
        long child = 0, childSelf = 0, childParent = 0;
        WaitResult r = default;
        var parent = k.Spawn("parent", async self =>
        {
            child = await self.Fork(async c =>
            {
                childSelf = c.Getpid();
                childParent = c.Getppid();
                await c.Compute(Ms.Of(3));
                await c.Exit(42);
            });
            r = await self.Wait4((int)child);
        });
        k.RunUntilIdle().Should().BeTrue();
        child.Should().BeGreaterThan(parent.Pid);
        childSelf.Should().Be(child);
        childParent.Should().Be(parent.Pid);
        r.Pid.Should().Be(child);
        r.WIFEXITED.Should().BeTrue();
        r.WEXITSTATUS.Should().Be(42);
        k.FindTask((int)child).Should().BeNull("a reaped child is gone from the pid hash");
        k.AssertInvariants();
    }

    [TestCase(true)]
    [TestCase(false)]
    public void AnExitPaysForTheSyscallsBeforeItAndForItself(bool callsExit)
    {
        // A child that never sleeps: its syscalls are charged as debt, and the exit must pay it
        // (and its own cost) before the CPU moves on, or the work would take no simulated time.
        var k = KernelBuilder.New().Boot();
        var costs = k.Machine.Costs;
        long reapedAt = 0, forkedAt = 0;
        TaskStruct? child = null;
        k.Spawn("parent", async self =>
        {
            forkedAt = self.Now;
            long pid = await self.Fork(async c =>
            {
                child = c.TaskStruct;
                for (int i = 0; i < 1_000; i++)
                {
                    c.Getpid();
                }
                if (callsExit)
                {
                    await c.Exit(0);
                }
            });
            (await self.Wait4((int)pid)).WIFEXITED.Should().BeTrue();
            reapedAt = self.Now;
        });
        k.RunUntilIdle().Should().BeTrue();
        long owed = 1_000 * costs.SyscallNs + costs.ExitNs;
        child!.SumExecRuntimeNs.Should().BeGreaterThanOrEqualTo(owed, "the child ran its syscalls and its exit on the CPU");
        (reapedAt - forkedAt).Should().BeGreaterThanOrEqualTo(owed, "the parent could reap only after the child's exit was paid");
        child.ExecutionState.Should().Be(ExecState.Finished);
        k.AssertInvariants();
    }

    [Test]
    public void ChildRunsFirstAfterFork()
    {
        var k = KernelBuilder.New().Boot();
        var order = new List<string>();
        k.Spawn("parent", async self =>
        {
            await self.Fork(c =>
            {
                order.Add("child");
                return ValueTask.CompletedTask;
            });
            order.Add("parent");
            await self.Wait4(-1);
        });
        k.RunUntilIdle();
        order.Should().Equal("child", "parent");
        k.AssertInvariants();
    }

    [Test]
    public void ExitedChildIsAZombieUntilItsParentWaits()
    {
        var k = KernelBuilder.New().Boot();
        long child = 0;
        bool reap = false;
        k.Spawn("parent", async self =>
        {
            child = await self.Fork(async c => await c.Exit(3));
            while (!reap)
            {
                await self.Nanosleep(Ms.Of(10));
            }
            (await self.Wait4((int)child)).WEXITSTATUS.Should().Be(3);
        });
        k.Run(Ms.Of(50));
        var z = k.FindTask((int)child)!;
        z.ExitState.Should().Be(TaskState.EXIT_ZOMBIE);
        k.Proc.Read($"/proc/{child}/stat")!.Should().Contain(" Z ");
        k.Proc.Read($"/proc/{child}/status")!.Should().Contain("State:\tZ (zombie)");
        k.AssertInvariants();
        reap = true;
        k.RunUntilIdle();
        z.ExitState.Should().Be(TaskState.EXIT_DEAD);
        k.AssertInvariants();
    }

    [Test]
    public void WnohangReturnsZeroWhileChildrenRunAndEchildWithoutChildren()
    {
        var k = KernelBuilder.New().Boot();
        var results = new List<long>();
        k.Spawn("parent", async self =>
        {
            results.Add((await self.Wait4(-1, WaitOptions.WNOHANG)).Pid);
            // The child runs first, so it must block for the parent to see it still alive.
            await self.Fork(async c => await c.Nanosleep(Ms.Of(5)));
            results.Add((await self.Wait4(-1, WaitOptions.WNOHANG)).Pid);
            results.Add((await self.Wait4(-1)).Pid);
            results.Add((await self.Wait4(-1)).Pid);
            results.Add((await self.Wait4(-1, (WaitOptions)0x100)).Pid);
        });
        k.RunUntilIdle();
        results[0].Should().Be(Errno.ECHILD.Ret());
        results[1].Should().Be(0);
        results[2].Should().BeGreaterThan(0);
        results[3].Should().Be(Errno.ECHILD.Ret());
        results[4].Should().Be(Errno.EINVAL.Ret(), "unknown wait options are rejected");
        k.AssertInvariants();
    }

    [Test]
    public void OrphansAreReparentedToInitAndReaped()
    {
        var k = KernelBuilder.New().Boot();
        long grandchild = 0;
        long reportedParent = 0;
        k.Spawn("parent", async self =>
        {
            await self.Fork(async c =>
            {
                grandchild = await c.Fork(async g =>
                {
                    await g.Nanosleep(Ms.Of(20));
                    reportedParent = g.Getppid();
                    await g.Compute(Ms.Of(1));
                });
                await c.Exit(0);
            });
            await self.Wait4(-1);
        });
        k.Run(Ms.Of(10));
        var gc = k.FindTask((int)grandchild)!;
        gc.Parent.Should().Be(k.Init);
        k.RunUntilIdle().Should().BeTrue();
        reportedParent.Should().Be(1);
        gc.ExitState.Should().Be(TaskState.EXIT_DEAD, "init reaps orphans");
        k.TaskCount.Should().Be(2 + k.Machine.Cpus.Length, "only init, kswapd0 and the migration threads remain");
        k.AssertInvariants();
    }

    [Test]
    public void IgnoringSigchldMakesChildrenReapThemselves()
    {
        var k = KernelBuilder.New().Boot();
        long wait = 0;
        k.Spawn("parent", async self =>
        {
            self.SignalIgnore(Signals.SIGCHLD);
            await self.Fork(async c => await c.Compute(Ms.Of(1)));
            await self.Nanosleep(Ms.Of(10));
            wait = (await self.Wait4(-1)).Pid;
        });
        k.RunUntilIdle();
        wait.Should().Be(Errno.ECHILD.Ret());
        k.AssertInvariants();
    }

    [Test]
    public void VforkParentSleepsUntilTheChildExits()
    {
        var k = KernelBuilder.New().Hz(1000).Boot();
        long childDoneAt = 0, parentBackAt = 0;
        k.Spawn("parent", async self =>
        {
            await self.Vfork(async c =>
            {
                await c.Compute(Ms.Of(20));
                childDoneAt = c.Now;
            });
            parentBackAt = self.Now;
            await self.Wait4(-1);
        });
        k.RunUntilIdle();
        parentBackAt.Should().BeGreaterThanOrEqualTo(childDoneAt);
        k.AssertInvariants();
    }

    [Test]
    public void ProgramThatThrowsSurfacesToTheHost()
    {
        var k = KernelBuilder.New().Boot();
        k.Spawn("crasher", _ => throw new InvalidOperationException("boom"));
        var act = () => k.RunUntilIdle();
        act.Should().Throw<EmulatedProgramException>().WithInnerException<InvalidOperationException>().WithMessage("boom");
    }

    [Test]
    public void ProgramThatThrowsIsKilledWithSigabrtWhenTheHostAsksNotToRethrow()
    {
        var k = KernelBuilder.New().With(o => o with { RethrowProgramExceptions = false }).Boot();
        WaitResult r = default;
        k.Spawn("parent", async self =>
        {
            await self.Fork(async c =>
            {
                await c.Compute(Ms.Of(1));
                throw new InvalidOperationException("boom");
            });
            r = await self.Wait4(-1);
        });
        k.RunUntilIdle();
        r.WIFSIGNALED.Should().BeTrue();
        r.WTERMSIG.Should().Be(Signals.SIGABRT);
        r.WCOREDUMP.Should().BeTrue();
        k.AssertInvariants();
    }

    [Test]
    public void AwaitingAHostTaskIsRejected()
    {
        var k = KernelBuilder.New().Boot();
        k.Spawn("bad", async _ => await Task.Delay(1));
        var act = () => k.RunUntilIdle();
        act.Should().Throw<InvalidOperationException>().WithMessage("*not a kernel primitive*");
    }

    [Test]
    public void HundredsOfShortLivedProcessesLeaveNoTrace()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        int reaped = 0;
        k.Spawn("forker", async self =>
        {
            for (int i = 0; i < 500; i++)
            {
                await self.Fork(async c => await c.Compute(100_000));
                if ((await self.Wait4(-1)).Pid > 0)
                {
                    reaped++;
                }
            }
        });
        k.RunUntilIdle().Should().BeTrue();
        reaped.Should().Be(500);
        k.Pids.Allocated.Should().Be(k.TaskCount);
        k.TotalForks.Should().Be(500);
        k.AssertInvariants();
    }
}
