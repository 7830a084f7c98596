using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Futex;

/// <summary>Every futex op given a bad address, op, count or timeout gets Linux's errno, and the kernel keeps running.</summary>
[Parallelizable(ParallelScope.All)]
public class FutexBadInputTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    private static readonly int[] Ops =
    {
        FutexOp.FUTEX_WAIT, FutexOp.FUTEX_WAKE, FutexOp.FUTEX_REQUEUE, FutexOp.FUTEX_CMP_REQUEUE, FutexOp.FUTEX_WAKE_OP,
        FutexOp.FUTEX_LOCK_PI, FutexOp.FUTEX_UNLOCK_PI, FutexOp.FUTEX_TRYLOCK_PI, FutexOp.FUTEX_WAIT_BITSET, FutexOp.FUTEX_WAKE_BITSET,
    };

    [Test]
    public void EveryOpRefusesUnmappedMisalignedReadOnlyAndKernelAddresses()
    {
        var results = new Dictionary<(int Op, string Where), long>();
        KernelBuilder.New().Cpus(1).Hz(1000).RunToExit(async self =>
        {
            long rw = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long ro = await self.Mmap(0, Page, Prot.PROT_READ, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(rw, 1); // a value no WAIT expects, so a good address never sleeps
            var where = new Dictionary<string, long> { ["unmapped"] = 0x1000, ["misaligned"] = rw + 2, ["kernel"] = 0xC0001000L, ["readonly"] = ro };
            foreach (int op in Ops)
            {
                foreach (var (name, addr) in where)
                {
                    // uaddr2 is the good word, so only the bad first address is judged.
                    results[(op, name)] = await self.Futex(addr, op, 5, op is FutexOp.FUTEX_REQUEUE or FutexOp.FUTEX_CMP_REQUEUE or FutexOp.FUTEX_WAKE_OP ? 1 : FutexOp.NoTimeout, rw, op is FutexOp.FUTEX_WAIT_BITSET or FutexOp.FUTEX_WAKE_BITSET ? -1 : 0);
                }
            }
            results[(FutexOp.FUTEX_WAKE, "private unmapped")] = await self.Futex(0x1000, FutexOp.FUTEX_WAKE | FutexOp.FUTEX_PRIVATE_FLAG, 1);
            results[(99, "op")] = await self.Futex(rw, 99, 0);
            results[(FutexOp.FUTEX_FD, "op")] = await self.Futex(rw, FutexOp.FUTEX_FD, 0);
            results[(FutexOp.FUTEX_WAIT, "negative timeout")] = await self.Futex(rw, FutexOp.FUTEX_WAIT, 1, -1);
            results[(FutexOp.FUTEX_WAIT_BITSET, "negative timeout")] = await self.Futex(rw, FutexOp.FUTEX_WAIT_BITSET, 1, -1, 0, -1);
            results[(FutexOp.FUTEX_WAKE, "negative count")] = await self.Futex(rw, FutexOp.FUTEX_WAKE, -3);
            results[(FutexOp.FUTEX_WAKE_OP, "bad encoding")] = await self.Futex(rw, FutexOp.FUTEX_WAKE_OP, 1, 1, rw, 7 << 28);
            results[(FutexOp.FUTEX_UNLOCK_PI, "not owner")] = await self.Futex(rw, FutexOp.FUTEX_UNLOCK_PI, 0);
        });
        foreach (int op in Ops)
        {
            results[(op, "unmapped")].Should().Be(Errno.EFAULT.Ret(), $"op {op} unmapped");
            results[(op, "kernel")].Should().Be(Errno.EFAULT.Ret(), $"op {op} at a kernel address");
            results[(op, "misaligned")].Should().Be(op == FutexOp.FUTEX_UNLOCK_PI ? Errno.EPERM.Ret() : Errno.EINVAL.Ret(), $"op {op} misaligned (unlock_pi reads the word before it forms the key)");
        }
        // A read-only word: the ops that only read it work (wait sees a different value, wakes find nobody);
        // those that must write it fault.
        results[(FutexOp.FUTEX_WAIT, "readonly")].Should().Be(Errno.EAGAIN.Ret(), "the word reads 0, not 5");
        results[(FutexOp.FUTEX_WAIT_BITSET, "readonly")].Should().Be(Errno.EAGAIN.Ret());
        results[(FutexOp.FUTEX_WAKE, "readonly")].Should().Be(0);
        results[(FutexOp.FUTEX_WAKE_BITSET, "readonly")].Should().Be(0);
        results[(FutexOp.FUTEX_REQUEUE, "readonly")].Should().Be(0);
        results[(FutexOp.FUTEX_CMP_REQUEUE, "readonly")].Should().Be(0, "the word (0) equals val3 (0)");
        results[(FutexOp.FUTEX_WAKE_OP, "readonly")].Should().Be(0, "the operation writes uaddr2, the good word");
        results[(FutexOp.FUTEX_LOCK_PI, "readonly")].Should().Be(Errno.EFAULT.Ret(), "the 0 -> TID cmpxchg writes");
        results[(FutexOp.FUTEX_TRYLOCK_PI, "readonly")].Should().Be(Errno.EFAULT.Ret());
        results[(FutexOp.FUTEX_UNLOCK_PI, "readonly")].Should().Be(Errno.EPERM.Ret(), "the word (0) does not name us");
        results[(FutexOp.FUTEX_WAKE, "private unmapped")].Should().Be(0, "a private key is (mm, address): no mapping is looked up (2.6.22)");
        results[(99, "op")].Should().Be(Errno.ENOSYS.Ret());
        results[(FutexOp.FUTEX_FD, "op")].Should().Be(Errno.ENOSYS.Ret());
        results[(FutexOp.FUTEX_WAIT, "negative timeout")].Should().Be(Errno.EINVAL.Ret());
        results[(FutexOp.FUTEX_WAIT_BITSET, "negative timeout")].Should().Be(Errno.EINVAL.Ret());
        results[(FutexOp.FUTEX_WAKE, "negative count")].Should().Be(0, "futex_wake with nr < 1 wakes nobody");
        results[(FutexOp.FUTEX_WAKE_OP, "bad encoding")].Should().Be(Errno.ENOSYS.Ret());
        results[(FutexOp.FUTEX_UNLOCK_PI, "not owner")].Should().Be(Errno.EPERM.Ret());
    }

    [Test]
    public void AThreadThatFaultsTakesItsWholeGroupDownWithSigsegv()
    {
        WaitResult status = default;
        long sibling = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long child = await self.Fork(async c =>
            {
                long w = await c.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                await c.Clone(Threads.Nptl, async th => await th.Nanosleep(Ms.Of(100)), parentTid: w, childTid: w);
                await c.Clone(Threads.Nptl, async th =>
                {
                    await th.Nanosleep(Ms.Of(1));
                    await th.Store(0x10L, 1); // SIGSEGV
                }, parentTid: w + 4, childTid: w + 4);
                await Threads.Join(c, w);
                sibling = 1; // never reached: the group died
                await c.Exit(0);
            });
            status = await self.Wait4((int)child);
        });
        status.WIFSIGNALED.Should().BeTrue();
        status.WTERMSIG.Should().Be(Signals.SIGSEGV);
        sibling.Should().Be(0);
    }
}
