using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Process;

/// <summary>FUTEX_WAIT and FUTEX_WAKE: values, keys (private and shared), counts, timeouts, signals, errors.</summary>
[Parallelizable(ParallelScope.All)]
public class FutexTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    [Test]
    public void WaitChecksTheValueAndTheAddress()
    {
        long differs = 0, misaligned = 0, unmapped = 0, unmappedPrivate = 0, badOp = 0, untouched = 0;
        var k = KernelBuilder.New().Hz(1000).RunToExit(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(a, 5);
            differs = await self.Futex(a, FutexOp.FUTEX_WAIT, 6);
            misaligned = await self.Futex(a + 2, FutexOp.FUTEX_WAIT, 5);
            unmapped = await self.Futex(0x10, FutexOp.FUTEX_WAIT, 0);
            unmappedPrivate = await self.Futex(0x10, FutexOp.FUTEX_WAIT | FutexOp.FUTEX_PRIVATE_FLAG, 0);
            badOp = await self.Futex(a, 99, 0);
            // An untouched anonymous page reads as 0 for the key: not an error, so this sleeps until the timeout.
            untouched = await self.Futex(a + Page + 8, FutexOp.FUTEX_WAIT, 0, Ms.Of(2));
        });
        differs.Should().Be(Errno.EAGAIN.Ret(), "EWOULDBLOCK: the word no longer holds the value");
        misaligned.Should().Be(Errno.EINVAL.Ret());
        unmapped.Should().Be(Errno.EFAULT.Ret());
        unmappedPrivate.Should().Be(Errno.EFAULT.Ret(), "the value read faults");
        badOp.Should().Be(Errno.ENOSYS.Ret());
        untouched.Should().Be(Errno.ETIMEDOUT.Ret());
        k.Futexes.Waiters.Should().Be(0);
    }

    [Test]
    public void WakeWakesAtMostTheCountAndReturnsHowMany()
    {
        long woke0 = -1, woke2 = -1, wokeRest = -1;
        var results = new List<long>();
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            for (int i = 0; i < 3; i++)
            {
                await self.Fork(async c => results.Add(await c.Futex(a, FutexOp.FUTEX_WAIT, 0)));
            }
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            woke0 = await self.Futex(a, FutexOp.FUTEX_WAKE, 0);
            woke2 = await self.Futex(a, FutexOp.FUTEX_WAKE, 2);
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            results.Should().HaveCount(2, "two were woken, one still sleeps");
            wokeRest = await self.Futex(a, FutexOp.FUTEX_WAKE, int.MaxValue);
            for (int i = 0; i < 3; i++)
            {
                await self.Wait4(-1);
            }
        });
        woke0.Should().Be(0);
        woke2.Should().Be(2);
        wokeRest.Should().Be(1);
        results.Should().Equal(0L, 0L, 0L);
    }

    [Test]
    public void ProcessesMappingOneFileAtDifferentAddressesMeetOnOneSharedFutexButNotOnAPrivateOne()
    {
        long woken = -1, privateWoken = -1, waitResult = -1;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            int fd = (int)await self.Open("/futex", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 2 * Page);
            long child = await self.Fork(async c =>
            {
                long b = await c.Mmap(0, 2 * Page, RW, MapFlags.MAP_SHARED, fd, 0);
                waitResult = await c.Futex(b + Page + 16, FutexOp.FUTEX_WAIT, 0, Ms.Of(50));
            });
            await self.Mmap(0, 8 * Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS); // shift our next mapping
            long a = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_SHARED, fd, 0);
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            privateWoken = await self.Futex(a + Page + 16, FutexOp.FUTEX_WAKE | FutexOp.FUTEX_PRIVATE_FLAG, 1);
            woken = await self.Futex(a + Page + 16, FutexOp.FUTEX_WAKE, 1);
            await self.Wait4((int)child);
        });
        privateWoken.Should().Be(0, "a private key is (mm, address): another process's waiter is not on it");
        woken.Should().Be(1, "the shared key is the file's page and offset, wherever it is mapped");
        waitResult.Should().Be(0);
    }

    [Test]
    public void AWaitEndsWithEtimedoutOrEintr()
    {
        long timedOut = 0, interrupted = 0, took = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            long t0 = self.Now;
            timedOut = await self.Futex(a, FutexOp.FUTEX_WAIT | FutexOp.FUTEX_PRIVATE_FLAG, 0, Ms.Of(10));
            took = self.Now - t0;
            long child = await self.Fork(async c =>
            {
                c.Signal(Signals.SIGUSR1, _ => { });
                long b = await c.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                interrupted = await c.Futex(b, FutexOp.FUTEX_WAIT, 0);
            });
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            await self.Kill((int)child, Signals.SIGUSR1);
            await self.Wait4((int)child);
        });
        timedOut.Should().Be(Errno.ETIMEDOUT.Ret());
        took.Should().BeGreaterThanOrEqualTo(Ms.Of(9)).And.BeLessThan(Ms.Of(12));
        interrupted.Should().Be(Errno.EINTR.Ret());
    }
}
