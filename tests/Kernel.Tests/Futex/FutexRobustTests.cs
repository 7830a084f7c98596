using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Futex;

/// <summary>Robust lists (set_robust_list, get_robust_list, the walk at exit) and the BITSET operations.</summary>
[Parallelizable(ParallelScope.All)]
public class FutexRobustTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    [Test]
    public void AThreadThatDiesHoldingARobustMutexLeavesItOwnerDiedAndAWaiterTakesIt()
    {
        long waitResult = -1, setBad = 0, getResult = -1;
        int wordSeen = 0, headSeen = 0, lenSeen = 0, me = 0;
        long headSet = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            // Layout: a robust_list_head at m, one mutex at m + 32 (its list node first, its word 8 bytes on).
            long head = m, node = m + 32, word = node + 8, tidWord = m + 128;
            headSet = head;
            await self.Clone(Threads.Nptl, async t =>
            {
                setBad = t.SetRobustList(head, 8);
                t.SetRobustList(head, UserTask.RobustListHeadSize);
                getResult = t.GetRobustList(0, m + 200, m + 204);
                headSeen = await t.Load<int>(m + 200);
                lenSeen = await t.Load<int>(m + 204);
                // The glibc way: list_op_pending, take the lock, link the node, clear pending.
                await t.Store(head + 8, (int)node);
                (await t.CompareExchange(word, 0, (int)t.Gettid())).Should().Be(0);
                await t.Store(node, (int)head);      // node.next = head (the list is circular)
                await t.Store(head, (int)node);      // head.list.next = node
                await t.Store(head + 4, 8);          // futex_offset: the word is 8 bytes past the node
                await t.Store(head + 8, 0);
                await t.Nanosleep(Ms.Of(3));
                await t.Exit(0); // dies holding the mutex
            }, parentTid: tidWord, childTid: tidWord);
            await self.Nanosleep(Ms.Of(1));
            me = (int)self.Gettid();
            int c = await self.Load<int>(word);
            await self.CompareExchange(word, c, c | FutexOp.FUTEX_WAITERS); // we will wait: mark it
            waitResult = await self.Futex(word, FutexOp.FUTEX_WAIT, c | FutexOp.FUTEX_WAITERS);
            wordSeen = await self.Load<int>(word);
            // The robust-mutex protocol: an OWNER_DIED word with no owner may be taken by cmpxchg.
            (await self.CompareExchange(word, wordSeen, me | FutexOp.FUTEX_OWNER_DIED)).Should().Be(wordSeen);
            await Threads.Join(self, tidWord);
        });
        setBad.Should().Be(Errno.EINVAL.Ret(), "the kernel knows one head size");
        getResult.Should().Be(0);
        lenSeen.Should().Be(UserTask.RobustListHeadSize);
        headSeen.Should().Be((int)headSet, "get_robust_list returns the head set_robust_list registered");
        waitResult.Should().Be(0, "handle_futex_death woke one waiter");
        wordSeen.Should().Be(FutexOp.FUTEX_OWNER_DIED | FutexOp.FUTEX_WAITERS, "the TID is gone, the owner-died bit set, the waiters bit kept");
    }

    [Test]
    public void GetRobustListOfAnotherTaskChecksItExistsAndIsOurs()
    {
        long none = 0, other = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            none = self.GetRobustList(31999, m, m + 4);
            long child = await self.Fork(async c => await c.Nanosleep(Ms.Of(3)));
            self.Setuid(1000);
            other = self.GetRobustList((int)child, m, m + 4);
            await self.Wait4((int)child);
        });
        none.Should().Be(Errno.ESRCH.Ret());
        other.Should().Be(Errno.EPERM.Ret(), "the child is still root's; we no longer are");
    }

    [Test]
    public void WakeBitsetWakesOnlyTheWaitersSharingABitAndWaitBitsetTimesOutAtAnAbsoluteTime()
    {
        var woke = new List<int>();
        long wokenByTwo = -1, zeroBitset = 0, zeroWake = 0, timedOut = 0, when = 0, deadline = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            for (int bits = 1; bits <= 2; bits++)
            {
                int b = bits;
                await self.Fork(async c =>
                {
                    if (await c.Futex(m, FutexOp.FUTEX_WAIT_BITSET, 0, FutexOp.NoTimeout, 0, b) == 0)
                    {
                        woke.Add(b);
                    }
                });
            }
            await self.Nanosleep(Ms.Of(2));
            wokenByTwo = await self.Futex(m, FutexOp.FUTEX_WAKE_BITSET, int.MaxValue, 0, 0, 2);
            await self.Nanosleep(Ms.Of(1));
            woke.Should().Equal(2);
            await self.Futex(m, FutexOp.FUTEX_WAKE, int.MaxValue); // FUTEX_BITSET_MATCH_ANY: the other one
            await self.Wait4(-1);
            await self.Wait4(-1);
            zeroBitset = await self.Futex(m, FutexOp.FUTEX_WAIT_BITSET, 0, FutexOp.NoTimeout, 0, 0);
            zeroWake = await self.Futex(m, FutexOp.FUTEX_WAKE_BITSET, 1, 0, 0, 0);
            deadline = self.Now + Ms.Of(3) + 250_000;
            timedOut = await self.Futex(m, FutexOp.FUTEX_WAIT_BITSET, 0, deadline, 0, FutexOp.FUTEX_BITSET_MATCH_ANY);
            when = self.Now;
        });
        wokenByTwo.Should().Be(1);
        woke.Should().Equal(2, 1);
        zeroBitset.Should().Be(Errno.EINVAL.Ret());
        zeroWake.Should().Be(Errno.EINVAL.Ret());
        timedOut.Should().Be(Errno.ETIMEDOUT.Ret());
        when.Should().BeGreaterThanOrEqualTo(deadline).And.BeLessThan(deadline + Ms.Of(1), "the absolute deadline, to the timer's resolution");
    }
}
