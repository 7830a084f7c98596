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

namespace Kernel.Tests.Futex;

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

/// <summary>FUTEX_REQUEUE, FUTEX_CMP_REQUEUE and FUTEX_WAKE_OP as 2.6.20 does them.</summary>
[Parallelizable(ParallelScope.All)]
public class FutexRequeueTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    private static async ValueTask<long> Waiters(UserTask self, long word, int n, List<long> results)
    {
        for (int i = 0; i < n; i++)
        {
            await self.Fork(async c => results.Add(await c.Futex(word, FutexOp.FUTEX_WAIT, 0)));
        }
        await self.Nanosleep(TimeSpec.FromMilliseconds(5));
        return 0;
    }

    [Test]
    public void CmpRequeueWakesOneAndMovesTheRestOrFailsWithEagain()
    {
        long stale = 0, moved = 0, wokenFromSecond = 0, left = -1;
        var results = new List<long>();
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            long cond = a, mutex = a + 64;
            await Waiters(self, cond, 4, results);
            stale = await self.Futex(cond, FutexOp.FUTEX_CMP_REQUEUE, 1, int.MaxValue, mutex, val3: 1);
            // pthread_cond_broadcast: wake one, move the rest to the mutex's queue.
            moved = await self.Futex(cond, FutexOp.FUTEX_CMP_REQUEUE, 1, int.MaxValue, mutex, val3: 0);
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            left = await self.Futex(cond, FutexOp.FUTEX_WAKE, int.MaxValue);
            wokenFromSecond = await self.Futex(mutex, FutexOp.FUTEX_WAKE, int.MaxValue);
            for (int i = 0; i < 4; i++)
            {
                await self.Wait4(-1);
            }
        });
        stale.Should().Be(Errno.EAGAIN.Ret(), "the word no longer holds val3");
        moved.Should().Be(4, "one woken plus three requeued");
        left.Should().Be(0, "nobody waits on the condition any more");
        wokenFromSecond.Should().Be(3, "the three moved waiters sleep on the mutex");
        results.Should().Equal(0L, 0L, 0L, 0L);
    }

    [Test]
    public void RequeueWithACountOfZeroStillMovesOneAs2620()
    {
        long r = 0, onSecond = 0, onFirst = 0;
        var results = new List<long>();
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            await Waiters(self, a, 3, results);
            r = await self.Futex(a, FutexOp.FUTEX_REQUEUE, 0, 0, a + 4);
            onSecond = await self.Futex(a + 4, FutexOp.FUTEX_WAKE, int.MaxValue);
            onFirst = await self.Futex(a, FutexOp.FUTEX_WAKE, int.MaxValue);
            for (int i = 0; i < 3; i++)
            {
                await self.Wait4(-1);
            }
        });
        r.Should().Be(1, "futex_requeue moves a waiter before it compares the count");
        onSecond.Should().Be(1);
        onFirst.Should().Be(2);
    }

    [Test]
    public void WakeOpAppliesTheOperationAndWakesTheSecondQueueWhenTheComparisonHolds()
    {
        long r1 = 0, r2 = 0, bad = 0;
        int after1 = 0, after2 = 0;
        var results = new List<long>();
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long a = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            long w1 = a, w2 = a + 8;
            await Waiters(self, w1, 2, results);
            for (int i = 0; i < 2; i++)
            {
                await self.Fork(async c => results.Add(await c.Futex(w2, FutexOp.FUTEX_WAIT, 0)));
            }
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            // *w2 += 5 (old 0); wake 1 on w1; old > 1 fails: w2's waiters stay.
            r1 = await self.Futex(w1, FutexOp.FUTEX_WAKE_OP, 1, 2, w2, Kernel.Futex.FutexTable.EncodeOp(Kernel.Futex.FutexTable.FUTEX_OP_ADD, 5, Kernel.Futex.FutexTable.FUTEX_OP_CMP_GT, 1));
            after1 = await self.Load<int>(w2);
            // *w2 = 1 << 3 (OPARG_SHIFT; old 5); wake 1 on w1; old == 5 holds: wake 2 on w2.
            r2 = await self.Futex(w1, FutexOp.FUTEX_WAKE_OP, 1, 2, w2,
                Kernel.Futex.FutexTable.EncodeOp(Kernel.Futex.FutexTable.FUTEX_OP_SET | Kernel.Futex.FutexTable.FUTEX_OP_OPARG_SHIFT, 3, Kernel.Futex.FutexTable.FUTEX_OP_CMP_EQ, 5));
            after2 = await self.Load<int>(w2);
            bad = await self.Futex(w1, FutexOp.FUTEX_WAKE_OP, 1, 1, w2, Kernel.Futex.FutexTable.EncodeOp(7, 0, 0, 0));
            for (int i = 0; i < 4; i++)
            {
                await self.Wait4(-1);
            }
        });
        r1.Should().Be(1);
        after1.Should().Be(5);
        r2.Should().Be(3, "one on the first word, two on the second");
        after2.Should().Be(8);
        bad.Should().Be(Errno.ENOSYS.Ret(), "an unknown operation");
    }
}
