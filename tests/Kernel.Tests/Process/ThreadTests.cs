using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Process;

/// <summary>NPTL-style threads: thread groups, the tid words, joins through CLONE_CHILD_CLEARTID, group exit.</summary>
[Parallelizable(ParallelScope.All)]
public class ThreadTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    [Test]
    public void AThreadSharesThePidAndIsJoinedThroughItsClearedTidWord()
    {
        long pid = 0, threadPid = 0, threadTid = 0, tidWordAtStart = 0, created = 0, afterJoin = -1;
        WaitResult noChild = default;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            pid = self.Getpid();
            long word = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            created = await self.Clone(Threads.Nptl, async t =>
            {
                threadPid = t.Getpid();
                threadTid = t.Gettid();
                await t.Compute(Ms.Of(2));
                await t.Exit(0);
            }, parentTid: word, childTid: word);
            tidWordAtStart = await self.Load<int>(word);
            await Threads.Join(self, word);
            afterJoin = await self.Load<int>(word);
            noChild = await self.Wait4(-1, WaitOptions.WNOHANG | WaitOptions.__WALL);
        });
        threadPid.Should().Be(pid, "getpid is the tgid");
        threadTid.Should().Be(created).And.NotBe(pid);
        tidWordAtStart.Should().Be((int)created, "CLONE_PARENT_SETTID stored the tid");
        afterJoin.Should().Be(0, "CLONE_CHILD_CLEARTID zeroed it at exit");
        noChild.Pid.Should().Be(Errno.ECHILD.Ret(), "a thread is not a child to wait for, and it was reaped at exit");
        k.Tasks.Should().OnlyContain(t => t.IsKernelThread || t.Comm == "init");
    }

    [Test]
    public void AFatalSignalInOneThreadKillsTheWholeGroup()
    {
        WaitResult r = default;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long proc = await self.Fork(async leader =>
            {
                long word = await leader.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await leader.Clone(Threads.Nptl, async t =>
                {
                    await t.Compute(Ms.Of(1));
                    await t.Store(0x10, 1); // SIGSEGV: the group dies
                }, parentTid: word, childTid: word);
                await leader.Compute(Ms.Of(100));
                await leader.Exit(0); // never reached
            });
            r = await self.Wait4((int)proc);
        });
        r.WIFSIGNALED.Should().BeTrue();
        r.WTERMSIG.Should().Be(Signals.SIGSEGV, "the leader reports the group's fatal signal");
    }

    [Test]
    public void ExitGroupEndsEveryThreadAndALeaderThatExitsFirstIsReapedLast()
    {
        WaitResult groupExit = default, leaderFirst = default;
        long leaderExitedAt = 0, reapedAt = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long a = await self.Fork(async leader =>
            {
                long word = await leader.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await leader.Clone(Threads.Nptl, async t => await t.ExitGroup(7), parentTid: word, childTid: word);
                await leader.Compute(Ms.Of(100));
            });
            groupExit = await self.Wait4((int)a);
            long b = await self.Fork(async leader =>
            {
                long word = await leader.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await leader.Clone(Threads.Nptl, async t =>
                {
                    await t.Compute(Ms.Of(10));
                    await t.Exit(0);
                }, parentTid: word, childTid: word);
                leaderExitedAt = leader.Now;
                await leader.Exit(3);
            });
            leaderFirst = await self.Wait4((int)b);
            reapedAt = self.Now;
        });
        groupExit.WIFEXITED.Should().BeTrue();
        groupExit.WEXITSTATUS.Should().Be(7, "every thread reports exit_group's code");
        leaderFirst.WEXITSTATUS.Should().Be(3);
        (reapedAt - leaderExitedAt).Should().BeGreaterThanOrEqualTo(Ms.Of(9), "delay_group_leader: reaped only after its last thread");
    }

    [Test]
    public void TgkillChecksTheGroupAndCloneChecksItsFlags()
    {
        long wrongGroup = 0, right = -1, badFlags1 = 0, badFlags2 = 0, got = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long word = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            self.Signal(Signals.SIGUSR1, _ => got++);
            long tid = await self.Clone(Threads.Nptl, async t => await t.Nanosleep(TimeSpec.FromMilliseconds(5)), parentTid: word, childTid: word);
            wrongGroup = await self.Tgkill((int)tid, (int)tid, Signals.SIGUSR1);
            right = await self.Tgkill((int)self.Getpid(), (int)tid, Signals.SIGUSR1);
            badFlags1 = await self.Clone(CloneFlags.CLONE_VM | CloneFlags.CLONE_THREAD, async t => await t.Exit(0));
            badFlags2 = await self.Clone(CloneFlags.CLONE_SIGHAND, async t => await t.Exit(0));
            await Threads.Join(self, word);
        });
        wrongGroup.Should().Be(Errno.ESRCH.Ret());
        right.Should().Be(0);
        got.Should().Be(1, "the shared handler ran in the thread");
        badFlags1.Should().Be(Errno.EINVAL.Ret(), "CLONE_THREAD without CLONE_SIGHAND");
        badFlags2.Should().Be(Errno.EINVAL.Ret(), "CLONE_SIGHAND without CLONE_VM");
    }

    [Test]
    public void TwoThousandThreadsAreJoinedWithNoWakeLost()
    {
        int joined = 0;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long words = await self.Mmap(0, 2000 * 4, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            for (int i = 0; i < 2000; i++)
            {
                long w = words + i * 4;
                long work = 1_000 * (1 + i % 7);
                await self.Clone(Threads.Nptl, async t => await t.Compute(work), parentTid: w, childTid: w);
                if (i % 50 == 49)
                {
                    for (int j = i - 49; j <= i; j++)
                    {
                        await Threads.Join(self, words + j * 4);
                        joined++;
                    }
                }
            }
        });
        joined.Should().Be(2000);
        k.Futexes.Waiters.Should().Be(0);
    }
}
