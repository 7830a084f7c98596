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

/// <summary>Signals to a thread group: kill queues on the group's shared set, a thread that does not block it takes it, a fatal one ends every thread.</summary>
[Parallelizable(ParallelScope.All)]
public class GroupSignalTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private static readonly ulong Usr1 = Signals.Mask(Signals.SIGUSR1);

    [Test]
    public void KillQueuesOnTheSharedSetUntilAThreadUnblocksIt()
    {
        int handled = 0, handledBy = 0;
        string? sharedWhileBlocked = null, ownWhileBlocked = null, sharedAfter = null;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long word = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            self.Signal(Signals.SIGUSR1, _ =>
            {
                handled++;
                handledBy = Taker(self); // the handler runs as the thread that took the signal
            });
            self.SigSetMask(Usr1); // the leader blocks it; the thread inherits the mask
            int tid = (int)await self.Clone(Threads.Nptl, async t =>
            {
                await t.Nanosleep(TimeSpec.FromMilliseconds(2));
                t.SigSetMask(0); // now this thread takes what the group holds
                await t.Nanosleep(TimeSpec.FromMilliseconds(1));
            }, parentTid: word, childTid: word);
            int pid = (int)self.Getpid();
            (await self.Kill(pid, Signals.SIGUSR1)).Should().Be(0);
            sharedWhileBlocked = Line(self, $"/proc/{pid}/status", "ShdPnd");
            ownWhileBlocked = Line(self, $"/proc/{pid}/task/{tid}/status", "SigPnd");
            await Threads.Join(self, word);
            sharedAfter = Line(self, $"/proc/{pid}/status", "ShdPnd");
            handledBy.Should().Be(tid, "the thread that unblocked SIGUSR1 took it off the group's queue");
        });
        sharedWhileBlocked.Should().Be($"{Usr1:x16}", "kill queues on the group, not on a thread");
        ownWhileBlocked.Should().Be($"{0:x16}");
        sharedAfter.Should().Be($"{0:x16}");
        handled.Should().Be(1);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TheLeaderTakesAGroupSignalFirstUnlessItBlocksIt(bool leaderBlocks)
    {
        var takers = new List<int>();
        int leader = 0, thread = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long word = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            leader = (int)self.Gettid();
            self.Signal(Signals.SIGUSR1, _ => takers.Add(Taker(self)));
            thread = (int)await self.Clone(Threads.Nptl, async t => await t.Nanosleep(TimeSpec.FromMilliseconds(3)), parentTid: word, childTid: word);
            if (leaderBlocks)
            {
                self.SigSetMask(Usr1); // after the clone: the thread keeps an empty mask
            }
            await self.Kill((int)self.Getpid(), Signals.SIGUSR1);
            await Threads.Join(self, word);
        });
        takers.Should().Equal([leaderBlocks ? thread : leader], "one delivery for one kill, to the leader first if it wants it");
    }

    [Test]
    public void AFatalGroupSignalEndsEveryThreadWithItsStatus()
    {
        WaitResult status = default;
        var done = new List<int>();
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long pid = await self.Fork(async leader =>
            {
                long words = await leader.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                for (int i = 0; i < 3; i++)
                {
                    long w = words + i * 8;
                    // Each thread sleeps on a futex nobody wakes: only the group exit ends it.
                    await leader.Clone(Threads.Nptl, async t =>
                    {
                        await t.Futex(words + 64, FutexOp.FUTEX_WAIT, 0);
                        done.Add(t.TaskStruct.Pid); // never reached
                    }, parentTid: w, childTid: w);
                }
                leader.SigSetMask(Signals.Mask(Signals.SIGTERM)); // the leader blocks it: a thread must take it
                await leader.Futex(words + 64, FutexOp.FUTEX_WAIT, 0);
                done.Add(leader.TaskStruct.Pid);
            });
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            (await self.Kill((int)pid, Signals.SIGTERM)).Should().Be(0);
            status = await self.Wait4((int)pid);
        });
        status.WIFSIGNALED.Should().BeTrue();
        status.WTERMSIG.Should().Be(Signals.SIGTERM, "every thread reports the group's fatal signal");
        done.Should().BeEmpty("no thread ran on after the fatal signal");
    }

    [Test]
    public void TgkillStaysWithItsThreadAndIgnoringFlushesTheGroupsQueue()
    {
        string? threadOwn = null, leaderOwn = null, shared = null, sharedAfterIgnore = null;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long word = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            self.Signal(Signals.SIGUSR1, _ => { });
            self.SigSetMask(Usr1);
            int tid = (int)await self.Clone(Threads.Nptl, async t => await t.Nanosleep(TimeSpec.FromMilliseconds(3)), parentTid: word, childTid: word);
            int pid = (int)self.Getpid();
            await self.Tgkill(pid, tid, Signals.SIGUSR1);
            await self.Kill(pid, Signals.SIGUSR1);
            threadOwn = Line(self, $"/proc/{pid}/task/{tid}/status", "SigPnd");
            leaderOwn = Line(self, $"/proc/{pid}/status", "SigPnd");
            shared = Line(self, $"/proc/{pid}/status", "ShdPnd");
            self.SignalIgnore(Signals.SIGUSR1);
            sharedAfterIgnore = Line(self, $"/proc/{pid}/status", "ShdPnd") + " " + Line(self, $"/proc/{pid}/task/{tid}/status", "SigPnd");
            await Threads.Join(self, word);
        });
        threadOwn.Should().Be($"{Usr1:x16}", "tgkill queues on the one thread");
        leaderOwn.Should().Be($"{0:x16}");
        shared.Should().Be($"{Usr1:x16}");
        sharedAfterIgnore.Should().Be($"{0:x16} {0:x16}", "SIG_IGN discards it from the group's queue and every thread's");
    }

    /// <summary>The task a signal handler runs as: the current task of the CPU running it.</summary>
    private static int Taker(UserTask self) => self.Kernel.Machine.ThisCpu.Curr.Pid;

    private static string Line(UserTask self, string path, string key)
    {
        var text = self.Kernel.Proc.Read(path) ?? throw new InvalidOperationException($"{path} is missing");
        return text.Split('\n').Single(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split('\t')[1];
    }
}
