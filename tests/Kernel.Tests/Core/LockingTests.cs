using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Core;

[Parallelizable(ParallelScope.All)]
public class LockingTests
{
    [Test]
    public void MutexSerialisesCriticalSectionsAndSleepsTheWaiters()
    {
        var k = KernelBuilder.New().Cpus(4).Boot();
        var mutex = new KMutex("test_mutex");
        int inside = 0, maxInside = 0, done = 0;
        for (int i = 0; i < 6; i++)
        {
            k.Spawn("worker", async self =>
            {
                await self.KernelCall(async m =>
                {
                    await mutex.Lock(m);
                    inside++;
                    maxInside = Math.Max(maxInside, inside);
                    await m.Work(Ms.Of(2));
                    inside--;
                    mutex.Unlock(m);
                    done++;
                    return 0;
                });
            });
        }
        k.RunUntilIdle().Should().BeTrue();
        done.Should().Be(6);
        maxInside.Should().Be(1);
        mutex.Contentions.Should().BeGreaterThan(0);
        k.Now.Should().BeGreaterThanOrEqualTo(Ms.Of(12), "six 2 ms sections cannot overlap");
        k.AssertInvariants();
    }

    [Test]
    public void AChargedLockNeverSpinsOnItsOwnCpusEarlierHolds()
    {
        // Synchronous kernel paths charge their holds as time owed, at one Now: a hundred holds in
        // a row on one CPU are a hundred holds, not a hundred holds plus spins on each other.
        var k = KernelBuilder.New().Cpus(1).Boot();
        var lk = new KSpinLock("test_lock");
        long start = 0, end = 0;
        k.Spawn("holder", async self =>
        {
            start = self.Now;
            for (int i = 0; i < 100; i++)
            {
                await self.KernelCall(m =>
                {
                    m.ChargeLock(lk, m.ThisCpu!, 250);
                    return ValueTask.FromResult(0L);
                });
            }
            await self.Compute(1); // pay what the calls owe
            end = self.Now;
        });
        k.RunUntilIdle().Should().BeTrue();
        lk.Acquisitions.Should().Be(100);
        lk.Contentions.Should().Be(0);
        lk.SpinNs.Should().Be(0);
        (end - start).Should().BeGreaterThanOrEqualTo(100 * 250, "every hold is paid for");
        (end - start).Should().BeLessThan(100 * 250 * 2, "and nothing more than the holds and the syscalls");
        k.AssertInvariants();
    }

    [TestCase(20_000L, false)]
    [TestCase(long.MaxValue, true)]
    public void WhatATaskMayOweBoundsHowFarItsCpuRunsAheadOfALocksOtherUsers(long maxOwedNs, bool skewed)
    {
        // A runs 2,000 lock-taking syscalls that never sleep on CPU 0 (800 us of kernel time); B
        // takes the same lock on CPU 1 from 100 us on. Were A's debt never paid until it sleeps,
        // its CPU's clock would run 800 us ahead and B would spin for a future that has not
        // happened; paid every MaxOwedNs, the two CPUs stay that close and B barely waits.
        var k = KernelBuilder.New().Cpus(2).With(o => o with { Machine = o.Machine with { MaxOwedNs = maxOwedNs } }).Boot();
        var lk = new KSpinLock("shared");
        UserProgram take(int n) => async self =>
        {
            for (int i = 0; i < n; i++)
            {
                await self.KernelCall(m =>
                {
                    m.ChargeLock(lk, m.ThisCpu!, 250);
                    return ValueTask.FromResult(0L);
                });
            }
        };
        k.Spawn("a", take(2_000), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Spawn("b", async self =>
        {
            await self.Compute(100_000);
            await take(10)(self);
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        k.RunUntilIdle().Should().BeTrue();
        if (skewed)
        {
            lk.SpinNs.Should().BeGreaterThan(300_000, "B spun until A's far-ahead clock");
        }
        else
        {
            lk.SpinNs.Should().BeLessThan(2 * maxOwedNs, "the clocks never drift further apart than what A may owe");
        }
        k.AssertInvariants();
    }

    [Test]
    public void UnlockingAMutexOneDoesNotOwnIsAKernelBug()
    {
        var k = KernelBuilder.New().Boot();
        var mutex = new KMutex("m");
        k.Spawn("bad", async self => await self.KernelCall(m =>
        {
            mutex.Unlock(m);
            return ValueTask.FromResult(0L);
        }));
        ((Action)(() => k.RunUntilIdle())).Should().Throw<KernelBug>().WithMessage("BUG: mutex_unlock*non-owner*");
    }

    [Test]
    public void SemaphoreAdmitsCountHoldersAndDownInterruptibleReturnsEintrOnSignal()
    {
        var k = KernelBuilder.New().Cpus(4).Boot();
        var sem = new KSemaphore(2, "pool");
        int inside = 0, maxInside = 0;
        for (int i = 0; i < 5; i++)
        {
            k.Spawn("user", async self => await self.KernelCall(async m =>
            {
                await sem.Down(m);
                maxInside = Math.Max(maxInside, ++inside);
                await m.Work(Ms.Of(3));
                inside--;
                sem.Up();
                return 0;
            }));
        }
        k.RunUntilIdle().Should().BeTrue();
        maxInside.Should().Be(2);
        sem.Count.Should().Be(2);

        long ret = 0;
        var blocked = new KSemaphore(0, "never");
        var t = k.Spawn("waiter", async self =>
        {
            self.Signal(Kernel.Process.Signals.SIGUSR1, _ => { });
            ret = await self.KernelCall(m => blocked.DownInterruptible(m));
        });
        k.Run(Ms.Of(5));
        t.State.Should().Be(TaskState.TASK_INTERRUPTIBLE);
        k.SendSignal(t, Kernel.Process.Signals.SIGUSR1);
        k.RunUntilIdle().Should().BeTrue();
        ret.Should().Be(Errno.EINTR.Ret());
        k.AssertInvariants();
    }

    [Test]
    public void ReadersShareAnRwlockAndAWriterExcludesThem()
    {
        var k = KernelBuilder.New().Cpus(4).FreeCosts().Boot();
        var rw = new KRwLock("tasklist_lock");
        int readers = 0, maxReaders = 0;
        bool writerSawReaders = false;
        for (int i = 0; i < 3; i++)
        {
            k.Spawn("reader", async self => await self.KernelCall(async m =>
            {
                await rw.ReadLock(m);
                maxReaders = Math.Max(maxReaders, ++readers);
                await m.Work(Ms.Of(2));
                readers--;
                await rw.ReadUnlock(m);
                return 0;
            }));
        }
        k.Spawn("writer", async self => await self.KernelCall(async m =>
        {
            await m.Work(Ms.Of(1));
            await rw.WriteLock(m);
            writerSawReaders = readers != 0;
            await m.Work(Ms.Of(1));
            await rw.WriteUnlock(m);
            return 0;
        }));
        k.RunUntilIdle().Should().BeTrue();
        maxReaders.Should().Be(3);
        writerSawReaders.Should().BeFalse();
        rw.Contentions.Should().Be(1, "the writer spun while the readers held it");
        rw.SpinNs.Should().BeCloseTo(Ms.Of(1), 50_000);
        k.AssertInvariants();
    }

    [Test]
    public void ExclusiveWakeUpWakesOneWaiterAndWakeAllWakesEvery()
    {
        var k = KernelBuilder.New().Boot();
        var wq = new WaitQueueHead("test_wq");
        bool go = false;
        int through = 0;
        for (int i = 0; i < 4; i++)
        {
            k.Spawn("w", async self => await self.KernelCall(async m =>
            {
                await wq.WaitEvent(m, () => go, interruptible: false, exclusive: true);
                through++;
                return 0;
            }));
        }
        k.Run(Ms.Of(5));
        wq.Count.Should().Be(4);
        k.Spawn("waker", async self => await self.KernelCall(m =>
        {
            go = true;
            wq.WakeUp(nrExclusive: 1).Should().Be(1);
            return ValueTask.FromResult(0L);
        }));
        k.Run(Ms.Of(5));
        through.Should().Be(1, "an exclusive wake-up lets one waiter through");
        k.Spawn("waker", async self => await self.KernelCall(m =>
        {
            wq.WakeUp(nrExclusive: 0).Should().Be(3);
            return ValueTask.FromResult(0L);
        }));
        k.RunUntilIdle().Should().BeTrue();
        through.Should().Be(4);
        k.AssertInvariants();
    }

    [Test]
    public void CompleteLetsOneWaiterThroughAndCompleteAllLetsEveryone()
    {
        var k = KernelBuilder.New().Boot();
        var c = new Completion("done");
        int through = 0;
        for (int i = 0; i < 3; i++)
        {
            k.Spawn("w", async self => await self.KernelCall(async m =>
            {
                await c.WaitForCompletion(m);
                through++;
                return 0;
            }));
        }
        k.Run(Ms.Of(5));
        k.Spawn("c1", async self => await self.KernelCall(_ =>
        {
            c.Complete();
            return ValueTask.FromResult(0L);
        }));
        k.Run(Ms.Of(5));
        through.Should().Be(1);
        k.Spawn("call", async self => await self.KernelCall(_ =>
        {
            c.CompleteAll();
            return ValueTask.FromResult(0L);
        }));
        k.RunUntilIdle().Should().BeTrue();
        through.Should().Be(3);
        k.AssertInvariants();
    }

    [Test]
    public void TickArrivingWithInterruptsDisabledIsTakenWhenTheyComeBack()
    {
        var k = KernelBuilder.New().Hz(1000).FreeCosts().Boot();
        var l = new KSpinLock("irq_lock");
        long stimeDuring = -1;
        var t = k.Spawn("irqoff", async self => await self.KernelCall(async m =>
        {
            await l.Lock(m, irqsOff: true);
            long before = m.Current.Stime;
            await m.Work(Ms.Of(5));
            stimeDuring = m.Current.Stime - before;
            await l.Unlock(m, irqsOn: true);
            return 0;
        }));
        k.RunUntilIdle().Should().BeTrue();
        stimeDuring.Should().Be(0, "no tick is accounted while interrupts are off");
        t.Stime.Should().BeGreaterThan(0, "the deferred tick runs once interrupts are on");
        k.AssertInvariants();
    }
}
