using FluentAssertions;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>lock_page over the zone's hashed wait table: sleepers wake for their own page only.</summary>
[Parallelizable(ParallelScope.All)]
public class PageLockTests
{
    [Test]
    public void LockPageSleepsUntilUnlockAndASharedBucketDoesNotWakeOtherPagesWaiters()
    {
        var k = KernelBuilder.New().Cpus(3).Hz(1000).Boot();
        var pw = k.Memory.PageWait;
        k.Machine.EnterHostContext();
        int x = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0), y = -1;
        var extra = new List<int>();
        // Find another page of the same zone whose waiters share x's bucket.
        for (int i = 0; i < 10_000 && y < 0; i++)
        {
            int cand = k.Memory.AllocPages(Gfp.GFP_KERNEL, 0);
            extra.Add(cand);
            if (pw.QueueOf(cand) == pw.QueueOf(x))
            {
                y = cand;
            }
        }
        y.Should().BeGreaterThan(0, "some page hashes to the same queue");
        pw.TableSize(k.Memory.ZoneOf(x)).Should().Be(PageWaitTable.EntriesFor(k.Memory.ZoneOf(x).SpannedPages));
        pw.TryLockPage(y).Should().BeTrue();        // y stays locked by "I/O" until the end
        long bGot = 0, aUnlocked = 0;
        bool cWoke = false;
        k.Spawn("a", async self => await self.KernelCall(async m =>
        {
            await pw.LockPage(m, x);
            await m.Work(Ms.Of(5));
            aUnlocked = m.Now;
            pw.UnlockPage(x);
            return 0;
        }), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Spawn("b", async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds(1));
            await self.KernelCall(async m =>
            {
                await pw.LockPage(m, x);
                bGot = m.Now;
                pw.UnlockPage(x);
                return 0;
            });
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        var c = k.Spawn("c", async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds(1));
            await self.KernelCall(async m =>
            {
                await pw.WaitOnPageLocked(m, y);
                cWoke = true;
                return 0;
            });
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(2) });
        k.Run(Ms.Of(20));
        bGot.Should().BeGreaterThanOrEqualTo(aUnlocked).And.BeGreaterThan(0, "b slept until a unlocked x");
        cWoke.Should().BeFalse("x's unlock does not wake the waiter of y, though they share a queue");
        c.State.Should().Be(TaskState.TASK_UNINTERRUPTIBLE);
        k.Machine.EnterHostContext();
        pw.UnlockPage(y);
        k.RunUntilIdle().Should().BeTrue();
        cWoke.Should().BeTrue();
        k.Machine.EnterHostContext();
        k.Memory.FreePages(x, 0);
        foreach (int e in extra)
        {
            if (e == y)
            {
                continue;
            }
            k.Memory.FreePages(e, 0);
        }
        k.Memory.FreePages(y, 0);
        k.AssertInvariants();
    }

    [TestCase(4096L, 16)]
    [TestCase(0L, 4)]
    [TestCase(8L << 20, 4096)]
    public void TheWaitTableHasOneQueuePer256PagesAsAPowerOfTwo(long pages, int entries)
    {
        PageWaitTable.EntriesFor(pages).Should().Be(entries);
    }
}
