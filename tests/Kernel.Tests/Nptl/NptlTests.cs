using FluentAssertions;
using Kernel.Core;
using Kernel.Futex;
using Kernel.Nptl;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Nptl;

/// <summary>The threads library on the emulated syscalls: correctness, and the futex syscall counts Drepper's paper gives.</summary>
[Parallelizable(ParallelScope.All)]
public class NptlTests
{
    [Test]
    public void AnUncontendedMutexMakesNoSyscallAndAContendedOneMakesDreppersCounts()
    {
        long uncontended = -1, holder = -1, waiter = -1;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var heap = await UserHeap.Create(self);
            var m = PthreadMutex.Create(heap);
            for (int i = 0; i < 100; i++)
            {
                await m.Lock(self);
                await m.Unlock(self);
            }
            uncontended = self.FutexCalls;
            await m.Lock(self);
            var t = await Pthread.Create(self, heap, async th =>
            {
                await m.Lock(th);   // blocks: one FUTEX_WAIT
                await m.Unlock(th); // the word is 2, so one (unneeded) FUTEX_WAKE: mutex3's known cost
                waiter = th.FutexCalls;
            });
            await self.Nanosleep(Ms.Of(2));
            long before = self.FutexCalls;
            await m.Unlock(self); // one FUTEX_WAKE
            holder = self.FutexCalls - before;
            await Pthread.Join(self, t);
        });
        uncontended.Should().Be(0, "lock and unlock of a free mutex are a cmpxchg and a decrement");
        holder.Should().Be(1);
        waiter.Should().Be(2);
    }

    [Test]
    public void AMutexKeepsACounterExactUnderManySeeds()
    {
        for (ulong seed = 1; seed <= 12; seed++)
        {
            int counter = 0, maxInside = 0, inside = 0;
            var rng = new Random((int)seed);
            var work = Enumerable.Range(0, 4 * 60).Select(_ => (long)rng.Next(1_000, 40_000)).ToArray();
            KernelBuilder.New().Cpus(1 + (int)(seed % 3)).Hz(1000).Seed(seed).RunToExit(async self =>
            {
                var heap = await UserHeap.Create(self);
                var m = PthreadMutex.Create(heap);
                var threads = new List<PthreadT>();
                for (int i = 0; i < 4; i++)
                {
                    int id = i;
                    threads.Add(await Pthread.Create(self, heap, async th =>
                    {
                        for (int n = 0; n < 60; n++)
                        {
                            await m.Lock(th);
                            maxInside = Math.Max(maxInside, ++inside);
                            int c = counter;
                            await th.Compute(work[id * 60 + n]); // a preemption here loses an update without the mutex
                            counter = c + 1;
                            inside--;
                            await m.Unlock(th);
                            await th.Compute(work[(id * 60 + n + 7) % work.Length] / 2);
                        }
                    }));
                }
                foreach (var t in threads)
                {
                    await Pthread.Join(self, t);
                }
            });
            counter.Should().Be(240, $"seed {seed}");
            maxInside.Should().Be(1, $"seed {seed}: mutual exclusion");
        }
    }

    [Test]
    public void BroadcastWakesOneWaiterAndRequeuesTheRestOntoTheMutex()
    {
        var requeues = new List<FutexRequeueEvent>();
        int sawFlag = 0;
        long broadcasterCalls = -1;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        k.Futexes.Tracepoints.Requeue.Fired += e => requeues.Add(e);
        var prog = k.Spawn("prog", async self =>
        {
            var heap = await UserHeap.Create(self);
            var m = PthreadMutex.Create(heap);
            var cv = PthreadCond.Create(heap);
            long flag = heap.Alloc(4);
            var threads = new List<PthreadT>();
            for (int i = 0; i < 5; i++)
            {
                threads.Add(await Pthread.Create(self, heap, async th =>
                {
                    await m.Lock(th);
                    while (await th.Load<int>(flag) == 0)
                    {
                        await cv.Wait(th, m);
                    }
                    sawFlag++;
                    await th.Compute(100_000);
                    await m.Unlock(th);
                }));
            }
            await self.Nanosleep(Ms.Of(5));
            await m.Lock(self);
            await self.Store(flag, 1);
            long before = self.FutexCalls;
            await cv.Broadcast(self, m);
            broadcasterCalls = self.FutexCalls - before;
            await m.Unlock(self);
            foreach (var t in threads)
            {
                await Pthread.Join(self, t);
            }
        });
        k.RunUntilIdle().Should().BeTrue();
        prog.ExitCode.Should().Be(0);
        k.AssertInvariants();
        sawFlag.Should().Be(5);
        broadcasterCalls.Should().Be(1, "one FUTEX_CMP_REQUEUE");
        requeues.Should().ContainSingle();
        requeues[0].Woken.Should().Be(1);
        requeues[0].Requeued.Should().Be(4, "the rest wait on the mutex instead of stampeding");
    }

    [Test]
    public void ABarrierReleasesEveryRoundTogetherWithOneSerialThread()
    {
        const int N = 4, Rounds = 10;
        var arrivals = new int[Rounds];
        var serial = new int[Rounds];
        bool early = false;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var heap = await UserHeap.Create(self);
            var b = PthreadBarrier.Create(heap, N);
            var threads = new List<PthreadT>();
            for (int i = 0; i < N; i++)
            {
                int id = i;
                threads.Add(await Pthread.Create(self, heap, async th =>
                {
                    for (int r = 0; r < Rounds; r++)
                    {
                        await th.Compute(10_000 * (1 + (id + r) % 5));
                        arrivals[r]++;
                        if (await b.Wait(th) == PthreadBarrier.PTHREAD_BARRIER_SERIAL_THREAD)
                        {
                            serial[r]++;
                        }
                        early |= arrivals[r] != N; // nobody passes before all have arrived
                    }
                }));
            }
            foreach (var t in threads)
            {
                await Pthread.Join(self, t);
            }
        });
        early.Should().BeFalse();
        serial.Should().OnlyContain(s => s == 1);
    }

    [Test]
    public void ARobustMutexWhoseOwnerDiedIsTakenWithEownerdead()
    {
        long first = -1, second = -1;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var heap = await UserHeap.Create(self);
            var m = PthreadRobustMutex.Create(heap);
            var mine = await RobustList.Register(self, heap);
            var t = await Pthread.Create(self, heap, async th =>
            {
                var list = await RobustList.Register(th, heap);
                await m.Lock(th, list);
                await th.Nanosleep(Ms.Of(3));
                // returns without unlocking: the thread dies holding it
            });
            await self.Nanosleep(Ms.Of(1));
            first = await m.Lock(self, mine); // sleeps until exit_robust_list wakes it
            await m.Unlock(self, mine);
            second = await m.Lock(self, mine);
            await m.Unlock(self, mine);
            await Pthread.Join(self, t);
        });
        first.Should().Be(Errno.EOWNERDEAD.Ret());
        second.Should().Be(0, "once taken over and released it is an ordinary mutex again");
    }

    [Test]
    public void APiMutexReportsEdeadlkAndEperm()
    {
        long relock = 0, foreignUnlock = 0, unlock = -1;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var heap = await UserHeap.Create(self);
            var m = PthreadPiMutex.Create(heap);
            (await m.Lock(self)).Should().Be(0);
            relock = await m.Lock(self);
            var t = await Pthread.Create(self, heap, async th => foreignUnlock = await m.Unlock(th));
            await Pthread.Join(self, t);
            unlock = await m.Unlock(self);
        });
        relock.Should().Be(Errno.EDEADLK.Ret());
        foreignUnlock.Should().Be(Errno.EPERM.Ret());
        unlock.Should().Be(0);
    }

    [Test]
    public void TenThousandThreadsAreJoinedWithNoWakeLost()
    {
        int ran = 0;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var heap = await UserHeap.Create(self, pages: 16);
            var batch = new List<PthreadT>();
            for (int i = 0; i < 10_000; i++)
            {
                batch.Add(await Pthread.Create(self, heap, async th =>
                {
                    await th.Compute(2_000);
                    ran++;
                }));
                if (batch.Count == 100)
                {
                    foreach (var t in batch)
                    {
                        await Pthread.Join(self, t);
                    }
                    batch.Clear();
                }
            }
        });
        ran.Should().Be(10_000);
        k.Futexes.Waiters.Should().Be(0);
    }
}
