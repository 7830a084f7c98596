using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Sched;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Futex;

/// <summary>FUTEX_LOCK_PI, FUTEX_TRYLOCK_PI and FUTEX_UNLOCK_PI: priority inheritance through the rt_mutex, and the PI errors.</summary>
[Parallelizable(ParallelScope.All)]
public class FutexPiTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int LockPi = FutexOp.FUTEX_LOCK_PI | FutexOp.FUTEX_PRIVATE_FLAG;
    private const int UnlockPi = FutexOp.FUTEX_UNLOCK_PI | FutexOp.FUTEX_PRIVATE_FLAG;

    /// <summary>pthread_mutex_lock of a PI mutex: cmpxchg 0 -> TID, else the kernel.</summary>
    internal static async ValueTask<long> PiLock(UserTask t, long word)
    {
        int tid = (int)t.Gettid();
        if (await t.CompareExchange(word, 0, tid) == 0)
        {
            return 0;
        }
        return await t.Futex(word, LockPi, 0);
    }

    /// <summary>pthread_mutex_unlock of a PI mutex: cmpxchg TID -> 0, else (waiters) the kernel.</summary>
    internal static async ValueTask<long> PiUnlock(UserTask t, long word)
    {
        int tid = (int)t.Gettid();
        if (await t.CompareExchange(word, tid, 0) == tid)
        {
            return 0;
        }
        return await t.Futex(word, UnlockPi, 0);
    }

    [Test]
    public void ALowPriorityOwnerIsBoostedWhileAnRtTaskWaitsAndDropsBackOnUnlock()
    {
        int ownerPrioBefore = 0, ownerPrioBoosted = 0, ownerPrioAfter = 0, wordWhileWaiting = 0, wordAfterHandOff = 0;
        long rtResult = -1, unlockResult = -1, rtTid = 0;
        int ownerTid = 0, ownerNormalPrio = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long lockWord = m, tidWord = m + 64;
            ownerTid = (int)self.Gettid();
            (await PiLock(self, lockWord)).Should().Be(0);
            ownerPrioBefore = self.TaskStruct.Prio;
            rtTid = await self.Clone(Threads.Nptl, async t =>
            {
                await t.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 50);
                rtResult = await PiLock(t, lockWord);
                wordAfterHandOff = await t.Load<int>(lockWord);
                await PiUnlock(t, lockWord);
                await t.Exit(0);
            }, parentTid: tidWord, childTid: tidWord);
            await self.Compute(Ms.Of(3));
            ownerPrioBoosted = self.TaskStruct.Prio;
            wordWhileWaiting = await self.Load<int>(lockWord);
            unlockResult = await PiUnlock(self, lockWord);
            ownerPrioAfter = self.TaskStruct.Prio;
            ownerNormalPrio = self.TaskStruct.NormalPrio;
            await Threads.Join(self, tidWord);
        });
        ownerPrioBefore.Should().BeGreaterThanOrEqualTo(100, "an ordinary task");
        ownerPrioBoosted.Should().Be(99 - 50, "rt_mutex_getprio: the top waiter's priority");
        ownerPrioAfter.Should().Be(ownerNormalPrio, "the boost is undone at unlock").And.BeGreaterThanOrEqualTo(100);
        wordWhileWaiting.Should().Be(FutexOp.FUTEX_WAITERS | ownerTid, "the waiter set FUTEX_WAITERS, so the owner's cmpxchg fails");
        unlockResult.Should().Be(0);
        rtResult.Should().Be(0);
        wordAfterHandOff.Should().Be(FutexOp.FUTEX_WAITERS | (int)rtTid, "wake_futex_pi writes the new owner's TID, keeping the waiters bit");
    }

    [TestCase(SchedulerKind.O1)]
    [TestCase(SchedulerKind.Goodness24)]
    public void PiEndsAPriorityInversionThatAPlainFutexMutexSuffers(SchedulerKind scheduler)
    {
        // One CPU: a low task holds the lock for 5 ms of work, a high RT task wants it at 1 ms, a
        // medium RT hog wakes at 2 ms for 50 ms. With PI the low task runs boosted above the hog.
        long PiWait(bool pi)
        {
            long acquiredAfter = 0;
            KernelBuilder.New().Cpus(1).Hz(1000).Scheduler(scheduler).RunToExit(async self =>
            {
                long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                long lockWord = m, hiTid = m + 64, medTid = m + 128;
                await self.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 1); // the creator must not be starved by the hog
                await self.Clone(Threads.Nptl, async low =>
                {
                    await low.SchedSetscheduler(0, SchedPolicy.SCHED_NORMAL, 0);
                    await Lock(low, lockWord, pi);
                    await low.Compute(Ms.Of(5));
                    await Unlock(low, lockWord, pi);
                    await low.Exit(0);
                }, parentTid: m + 192, childTid: m + 192);
                await self.Clone(Threads.Nptl, async hi =>
                {
                    await hi.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 50);
                    await hi.Nanosleep(Ms.Of(1));
                    long t0 = hi.Now;
                    await Lock(hi, lockWord, pi);
                    acquiredAfter = hi.Now - t0;
                    await Unlock(hi, lockWord, pi);
                    await hi.Exit(0);
                }, parentTid: hiTid, childTid: hiTid);
                await self.Clone(Threads.Nptl, async med =>
                {
                    await med.SchedSetscheduler(0, SchedPolicy.SCHED_FIFO, 10);
                    await med.Nanosleep(Ms.Of(2));
                    await med.Compute(Ms.Of(50));
                    await med.Exit(0);
                }, parentTid: medTid, childTid: medTid);
                await self.SchedSetscheduler(0, SchedPolicy.SCHED_NORMAL, 0);
                await Threads.Join(self, hiTid);
                await Threads.Join(self, medTid);
                await Threads.Join(self, m + 192);
            });
            return acquiredAfter;
        }

        long withPi = PiWait(pi: true);
        long withoutPi = PiWait(pi: false);
        withPi.Should().BeLessThan(Ms.Of(6), "the boosted owner finishes its 5 ms section ahead of the hog");
        withoutPi.Should().BeGreaterThan(Ms.Of(45), "unboosted, the owner waits out the 50 ms hog: unbounded inversion");
    }

    private static ValueTask<long> Lock(UserTask t, long word, bool pi) => pi ? PiLock(t, word) : PlainLock(t, word);

    private static ValueTask<long> Unlock(UserTask t, long word, bool pi) => pi ? PiUnlock(t, word) : PlainUnlock(t, word);

    // Drepper's mutex2 with FUTEX_WAIT/FUTEX_WAKE: 0 free, 1 locked, 2 locked with waiters.
    private static async ValueTask<long> PlainLock(UserTask t, long word)
    {
        int c = await t.CompareExchange(word, 0, 1);
        if (c == 0)
        {
            return 0;
        }
        if (c != 2)
        {
            c = await t.Exchange(word, 2);
        }
        while (c != 0)
        {
            await t.Futex(word, FutexOp.FUTEX_WAIT | FutexOp.FUTEX_PRIVATE_FLAG, 2);
            c = await t.Exchange(word, 2);
        }
        return 0;
    }

    private static async ValueTask<long> PlainUnlock(UserTask t, long word)
    {
        if (await t.FetchAdd(word, -1) != 1)
        {
            await t.Store(word, 0);
            await t.Futex(word, FutexOp.FUTEX_WAKE | FutexOp.FUTEX_PRIVATE_FLAG, 1);
        }
        return 0;
    }

    [Test]
    public void ThePiErrorsAreLinuxs()
    {
        long relock = 0, notOwner = 0, noOwner = 0, trylockHeld = 0, trylockFree = -1, wakePi = 0, timedOut = 0, negative = 0, took = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long a = m, b = m + 8, c = m + 16, tidWord = m + 64;
            await PiLock(self, a);
            relock = await self.Futex(a, LockPi, 0);
            await self.Store(c, 30000); // a TID no task has
            noOwner = await self.Futex(c, LockPi, 0);
            negative = await self.Futex(b, LockPi, 0, -5);
            await self.Clone(Threads.Nptl, async t =>
            {
                notOwner = await t.Futex(a, UnlockPi, 0);
                trylockHeld = await t.Futex(a, FutexOp.FUTEX_TRYLOCK_PI | FutexOp.FUTEX_PRIVATE_FLAG, 0);
                trylockFree = await t.Futex(b, FutexOp.FUTEX_TRYLOCK_PI | FutexOp.FUTEX_PRIVATE_FLAG, 0);
                long t0 = t.Now;
                timedOut = await t.Futex(a, LockPi, 0, t.Now + Ms.Of(4));
                took = t.Now - t0;
                await t.Exit(0);
            }, parentTid: tidWord, childTid: tidWord);
            await self.Nanosleep(Ms.Of(1));
            wakePi = await self.Futex(a, FutexOp.FUTEX_WAKE | FutexOp.FUTEX_PRIVATE_FLAG, 1);
            await Threads.Join(self, tidWord);
            await PiUnlock(self, a);
        });
        relock.Should().Be(Errno.EDEADLK.Ret(), "the word already names us");
        noOwner.Should().Be(Errno.ESRCH.Ret(), "the word names no live task");
        negative.Should().Be(Errno.EINVAL.Ret());
        notOwner.Should().Be(Errno.EPERM.Ret());
        trylockHeld.Should().Be(Errno.EAGAIN.Ret(), "EWOULDBLOCK");
        trylockFree.Should().Be(0);
        wakePi.Should().Be(Errno.EINVAL.Ret(), "FUTEX_WAKE meets a PI waiter");
        timedOut.Should().Be(Errno.ETIMEDOUT.Ret());
        took.Should().BeInRange(Ms.Of(4), Ms.Of(5), "an absolute timeout");
    }

    [Test]
    public void TwoThreadsLockingTwoPiFutexesInOppositeOrderGetEdeadlk()
    {
        long second = 0;
        var results = new List<long>();
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long l1 = m, l2 = m + 8, tidWord = m + 64;
            await PiLock(self, l1);
            await self.Clone(Threads.Nptl, async t =>
            {
                await PiLock(t, l2);
                await t.Nanosleep(Ms.Of(2));
                results.Add(await PiLock(t, l1)); // blocks behind the creator...
                await PiUnlock(t, l1);
                await PiUnlock(t, l2);
                await t.Exit(0);
            }, parentTid: tidWord, childTid: tidWord);
            await self.Nanosleep(Ms.Of(4));
            second = await PiLock(self, l2); // ...and this closes the cycle
            await PiUnlock(self, l1);
            await Threads.Join(self, tidWord);
        });
        second.Should().Be(Errno.EDEADLK.Ret(), "the chain walk comes back to the caller");
        results.Should().Equal(0L);
    }

    [Test]
    public void AnOwnerThatDiesHoldingAPiFutexLeavesItToTheWaiterMarkedOwnerDied()
    {
        long got = -1;
        int word = 0, me = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long l = m, tidWord = m + 64;
            await self.Clone(Threads.Nptl, async t =>
            {
                await PiLock(t, l);
                await t.Nanosleep(Ms.Of(3));
                await t.Exit(0); // dies holding it
            }, parentTid: tidWord, childTid: tidWord);
            await self.Nanosleep(Ms.Of(1));
            me = (int)self.Gettid();
            got = await self.Futex(l, LockPi, 0);
            word = await self.Load<int>(l);
            await Threads.Join(self, tidWord);
        });
        got.Should().Be(0);
        (word & FutexOp.FUTEX_OWNER_DIED).Should().NotBe(0, "exit_pi_state_list left no owner");
        (word & FutexOp.FUTEX_TID_MASK).Should().Be(me);
        (word & FutexOp.FUTEX_WAITERS).Should().NotBe(0);
    }
}
