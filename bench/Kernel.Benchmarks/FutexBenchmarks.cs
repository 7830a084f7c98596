// Futex and thread costs on the host (issue 7's targets): uncontended FUTEX_WAIT that returns
// EAGAIN and FUTEX_WAKE with no waiter, a two-CPU futex ping-pong, and 100,000 threads created,
// exited and joined through CLONE_CHILD_CLEARTID wake-ups.
using BenchmarkDotNet.Attributes;
using Kernel.Core;
using Kernel.Mm.Memory;
using Kernel.Nptl;
using Kernel.Syscalls;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class FutexSyscallBenchmarks
{
    private const int PerResume = 1000;
    private LinuxKernel _wait = null!;
    private LinuxKernel _wake = null!;
    private readonly long[] _batches = new long[2];

    private LinuxKernel Loop(int op, int slot)
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Costs = CostTable.Free });
        k.Spawn("futex", async self =>
        {
            long w = await self.Mmap(0, 4096, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(w, 1);
            while (true)
            {
                for (int i = 0; i < PerResume; i++)
                {
                    // WAIT for 0 on a word holding 1: EAGAIN. WAKE 1 with nobody queued: 0.
                    long r = await self.Futex(w, op | FutexOp.FUTEX_PRIVATE_FLAG, op == FutexOp.FUTEX_WAIT ? 0 : 1);
                    if (r != (op == FutexOp.FUTEX_WAIT ? Errno.EAGAIN.Ret() : 0))
                    {
                        throw new InvalidOperationException($"futex returned {r}");
                    }
                }
                _batches[slot]++;
                await self.Compute(1000);
            }
        });
        OneBatch(k, slot);
        return k;
    }

    // The bucket lock's hold is charged even with free costs, so a batch takes more than 1 us of
    // simulated time: run until the program has finished one more batch.
    private void OneBatch(LinuxKernel k, int slot)
    {
        long target = _batches[slot] + 1;
        k.Machine.RunUntil(() => _batches[slot] >= target, 1_000_000_000);
    }

    [GlobalSetup]
    public void Setup()
    {
        _wait = Loop(FutexOp.FUTEX_WAIT, 0);
        _wake = Loop(FutexOp.FUTEX_WAKE, 1);
    }

    [Benchmark(OperationsPerInvoke = PerResume, Description = "FUTEX_WAIT returning EAGAIN (value differs), round trip")]
    public void WaitEagain() => OneBatch(_wait, 0);

    [Benchmark(OperationsPerInvoke = PerResume, Description = "FUTEX_WAKE with no waiter, round trip")]
    public void WakeNobody() => OneBatch(_wake, 1);
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class FutexPingPongBenchmarks
{
    private const int Rounds = 50_000;

    /// <summary>Two threads on two CPUs hand a token back and forth through one futex word: 2 waits and 2 wakes a round.</summary>
    [Benchmark(OperationsPerInvoke = Rounds * 4, Description = "futex ping-pong between two threads on two CPUs, per futex op")]
    public long PingPong()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 2 });
        long ops = 0;
        k.Spawn("ping", async self =>
        {
            var heap = await UserHeap.Create(self);
            long word = heap.Alloc(4);
            const int F = FutexOp.FUTEX_PRIVATE_FLAG;
            var pong = await Pthread.Create(self, heap, async t =>
            {
                for (int i = 0; i < Rounds; i++)
                {
                    while (await t.Load<int>(word) == 0)
                    {
                        await t.Futex(word, FutexOp.FUTEX_WAIT | F, 0);
                    }
                    await t.Store(word, 0);
                    await t.Futex(word, FutexOp.FUTEX_WAKE | F, 1);
                }
                ops += t.FutexCalls;
            });
            for (int i = 0; i < Rounds; i++)
            {
                await self.Store(word, 1);
                await self.Futex(word, FutexOp.FUTEX_WAKE | F, 1);
                while (await self.Load<int>(word) == 1)
                {
                    await self.Futex(word, FutexOp.FUTEX_WAIT | F, 1);
                }
            }
            await Pthread.Join(self, pong);
            ops += self.FutexCalls;
        });
        k.RunUntilIdle();
        if (ops < Rounds * 2)
        {
            throw new InvalidOperationException($"only {ops} futex calls");
        }
        return ops;
    }
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class ThreadBenchmarks
{
    /// <summary>The seed's NPTL test: 100,000 threads created, run, exited and joined.</summary>
    [Benchmark(Description = "100,000 threads created, exited and joined (CLONE_CHILD_CLEARTID)")]
    public long HundredThousandThreads()
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1 });
        long joined = 0;
        k.Spawn("creator", async self =>
        {
            var heap = await UserHeap.Create(self);
            for (int i = 0; i < 100_000; i++)
            {
                var t = await Pthread.Create(self, heap, static _ => ValueTask.CompletedTask);
                await Pthread.Join(self, t);
                joined++;
            }
        });
        k.RunUntilIdle();
        if (joined != 100_000)
        {
            throw new InvalidOperationException($"joined {joined}");
        }
        return joined;
    }
}
