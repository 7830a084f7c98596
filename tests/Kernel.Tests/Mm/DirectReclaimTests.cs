using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>
/// Allocation that can sleep: a fault or syscall that runs out of memory enters direct reclaim
/// through the IDirectReclaim seam, sleeps there holding mmap_sem, and is run again; with no
/// progress it fails as before. The reclaimer here is a stand-in for mm/vmscan.c: it sleeps a
/// while and hands back pages the test took away.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class DirectReclaimTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    /// <summary>A reclaimer that sleeps `sleepJiffies`, then gives back up to `batches[i]` of the withheld pages.</summary>
    private sealed class FakeReclaim(LinuxKernel k, Stack<int> withheld, long sleepJiffies, params int[] batches) : IDirectReclaim
    {
        public int Calls { get; private set; }
        public bool RanWithMemalloc { get; private set; } = true;
        public long LastOrder { get; private set; }

        public async ValueTask<long> TryToFreePages(Zone[] zonelist, int order, Gfp gfp)
        {
            var m = k.Machine;
            var p = m.RequireExecuting();
            RanWithMemalloc &= (p.Flags & TaskFlags.PF_MEMALLOC) != 0;
            LastOrder = order;
            int batch = batches[Math.Min(Calls, batches.Length - 1)];
            Calls++;
            p.State = TaskState.TASK_UNINTERRUPTIBLE;
            await m.ScheduleTimeout(sleepJiffies);
            int freed = 0;
            while (freed < batch && withheld.Count > 0)
            {
                k.Memory.FreePages(withheld.Pop(), 0);
                freed++;
            }
            return freed;
        }
    }

    /// <summary>Take every page the fast path would give (host context: nothing can sleep there).</summary>
    private static Stack<int> Exhaust(LinuxKernel k)
    {
        k.Machine.EnterHostContext();
        var held = new Stack<int>();
        int pfn;
        while ((pfn = k.Memory.AllocPages(Gfp.GFP_KERNEL | Gfp.__GFP_HIGHMEM | Gfp.__GFP_NOWARN, 0)) >= 0)
        {
            held.Push(pfn);
        }
        return held;
    }

    private static LinuxKernel Boot()
    {
        var k = KernelBuilder.New().Hz(1000).With(o => o with { Memory = new MemoryOptions { MemoryBytes = 16 * MemoryLayout.MiB } }).Boot();
        // The heuristic overcommit check would refuse the mappings once the test has taken the
        // free pages away; these tests are about the allocator, so commit always succeeds.
        k.Memory.Overcommit.Mode = Overcommit.OVERCOMMIT_ALWAYS;
        return k;
    }

    private static void GiveBack(LinuxKernel k, Stack<int> held)
    {
        k.Machine.EnterHostContext();
        while (held.Count > 0)
        {
            k.Memory.FreePages(held.Pop(), 0);
        }
    }

    private static int Enough(LinuxKernel k) => (int)k.Memory.Zones.Sum(z => z.PagesHigh) + 64;

    [Test]
    public void AFaultWithNoFreeMemorySleepsInDirectReclaimAndCompletes()
    {
        var k = Boot();
        long a = 0, touched = -1, faultAt = 0;
        var prog = k.Spawn("faulter", async self =>
        {
            a = await self.Mmap(0, 4 * Page, RW, Anon);
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            faultAt = self.Now;
            await self.Store(a, 0x5a5a);
            touched = self.Now;
            (await self.Load<int>(a)).Should().Be(0x5a5a);
        });
        k.Run(Ms.Of(1));
        var held = Exhaust(k);
        var reclaim = new FakeReclaim(k, held, sleepJiffies: 5, Enough(k));
        k.Memory.DirectReclaim = reclaim;
        TaskState during = TaskState.TASK_RUNNING;
        k.Run(Ms.Of(4));
        during = prog.State;
        k.RunUntilIdle().Should().BeTrue();

        prog.ExitCode.Should().Be(0, "the fault slept until reclaim freed memory, then succeeded (no SIGKILL)");
        during.Should().Be(TaskState.TASK_UNINTERRUPTIBLE, "it sleeps in D state inside the reclaim");
        (touched - faultAt).Should().BeGreaterThan(Ms.Of(4), "the store waited out the reclaim's schedule_timeout(5): 4 to 5 ticks");
        reclaim.Calls.Should().Be(1);
        reclaim.RanWithMemalloc.Should().BeTrue("try_to_free_pages runs with PF_MEMALLOC set");
        k.Memory.AllocStalls.Should().Be(1);
        k.Memory.DirectReclaimed.Should().BeGreaterThan(0);
        k.Machine.Oopses.Should().NotContain(o => o.Message.Contains("page allocation failure") || o.Message.Contains("killing process"));
        prog.MajFlt.Should().Be(0, "reclaim does not make an anonymous fault major");
        GiveBack(k, held);
        k.AssertInvariants();
    }

    [Test]
    public void ReclaimWithoutProgressEndsTheFaultInTheOutOfMemoryKill()
    {
        var k = Boot();
        var prog = k.Spawn("faulter", async self =>
        {
            long a = await self.Mmap(0, 4 * Page, RW, Anon);
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            await self.Store(a, 1);
        });
        k.Run(Ms.Of(1));
        var held = Exhaust(k);
        long failuresBefore = k.Memory.AllocFailures;
        var reclaim = new FakeReclaim(k, new Stack<int>(), sleepJiffies: 1, 0);
        k.Memory.DirectReclaim = reclaim;
        k.RunUntilIdle().Should().BeTrue("no progress must not loop for ever");

        reclaim.Calls.Should().Be(1, "no progress: one try, then out_of_memory");
        (prog.ExitCode & 0x7f).Should().Be(Signals.SIGKILL, "the OOM killer chose the only process with memory");
        k.Memory.AllocFailures.Should().Be(failuresBefore, "the victim's TIF_MEMDIE let its allocation use the reserves, so it could die");
        k.Machine.Oopses.Select(o => o.Message).Should().Contain(m => m.StartsWith("faulter invoked oom-killer: gfp_mask=0x", StringComparison.Ordinal) && m.EndsWith(", order=0, oomkilladj=0", StringComparison.Ordinal))
            .And.Contain(m => m.StartsWith($"Out of memory: kill process {prog.Pid} (faulter) score ", StringComparison.Ordinal))
            .And.Contain($"Killed process {prog.Pid} (faulter)");
        k.Memory.Oom.Kills.Should().Be(1);
        GiveBack(k, held);
        k.AssertInvariants();
    }

    [Test]
    public void TooLittleProgressWaitsOnCongestionThenReclaimsAgain()
    {
        var k = Boot();
        long faultAt = 0, touched = 0;
        var prog = k.Spawn("faulter", async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            faultAt = self.Now;
            await self.Store(a, 1);
            touched = self.Now;
        });
        k.Run(Ms.Of(1));
        var held = Exhaust(k);
        var reclaim = new FakeReclaim(k, held, sleepJiffies: 1, 1, Enough(k));
        k.Memory.DirectReclaim = reclaim;
        long iowaitBefore = k.Machine.Cpus[0].Stat.Iowait;
        k.RunUntilIdle().Should().BeTrue();

        prog.ExitCode.Should().Be(0);
        reclaim.Calls.Should().Be(2, "one page is progress but not enough: congestion_wait, then reclaim again");
        (touched - faultAt).Should().BeGreaterThan(Ms.Of(20), "congestion_wait(WRITE, HZ/50) is 19 to 20 ticks, plus two reclaims of up to a tick each");
        k.Machine.Cpus[0].Stat.Iowait.Should().BeGreaterThan(iowaitBefore, "congestion_wait sleeps in I/O wait");
        GiveBack(k, held);
        k.AssertInvariants();
    }

    [Test]
    public void AnMlockThatRunsOutSleepsHoldingMmapSemAndAThreadsMmapWaitsForIt()
    {
        var k = Boot();
        long mapped = 0, threadTouched = 0, mmapDone = 0;
        var vec = new byte[64];
        Kernel.Core.Locking.KRwSemaphore? sem = null;
        var prog = k.Spawn("parent", async self =>
        {
            sem = self.Mm!.MmapSem;
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Store(a, 7);
            await self.Clone(CloneFlags.CLONE_VM | (CloneFlags)Signals.SIGCHLD, async t =>
            {
                await t.Nanosleep(TimeSpec.FromMilliseconds(3));
                (await t.Load<int>(a + Page * 0)).Should().Be(7);
                await t.Store(a + 8, 1); // mapped already: no fault, no mmap_sem
                long b = await t.Mmap(0, Page, RW, Anon); // down_write waits for the parent's mlock
                threadTouched = t.Now;
                b.Should().BeGreaterThan(0);
            });
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            mapped = await self.Mmap(0, 64 * Page, RW, Anon);
            (await self.Mlock(mapped, 64 * Page)).Should().Be(0, "make_pages_present slept in reclaim and finished");
            mmapDone = self.Now;
            for (int i = 0; i < 64; i++)
            {
                vec[i] = (byte)(self.Mm!.Translate(mapped + i * Page, write: false) >= 0 ? 1 : 0);
            }
            await self.Wait4(-1, WaitOptions.None);
        });
        k.Run(Ms.Of(1));
        var held = Exhaust(k);
        var reclaim = new FakeReclaim(k, held, sleepJiffies: 10, Enough(k));
        k.Memory.DirectReclaim = reclaim;
        k.RunUntilIdle().Should().BeTrue();

        prog.ExitCode.Should().Be(0);
        vec.Should().AllBeEquivalentTo((byte)1, "every locked page is resident");
        sem!.Contentions.Should().BeGreaterThanOrEqualTo(1, "the thread slept in down_write");
        reclaim.Calls.Should().BeGreaterThanOrEqualTo(1);
        threadTouched.Should().BeGreaterThanOrEqualTo(mmapDone, "the thread's mmap needed mmap_sem, which the sleeping mlock held");
        GiveBack(k, held);
        k.AssertInvariants();
    }

    [Test]
    public void AllocPagesAsyncSleepsInReclaimForAnAsyncKernelPath()
    {
        var k = Boot();
        int got = -2;
        k.Spawn("driver", async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds(2));
            await self.KernelCall(async m =>
            {
                got = await k.Memory.AllocPagesAsync(Gfp.GFP_KERNEL, 0);
                return 0;
            });
        });
        k.Run(Ms.Of(1));
        var held = Exhaust(k);
        var reclaim = new FakeReclaim(k, held, sleepJiffies: 2, Enough(k));
        k.Memory.DirectReclaim = reclaim;
        k.RunUntilIdle().Should().BeTrue();

        got.Should().BeGreaterThanOrEqualTo(0, "the async allocation slept in reclaim and then got its page");
        reclaim.Calls.Should().Be(1);
        k.Machine.EnterHostContext();
        k.Memory.FreePages(got, 0);
        GiveBack(k, held);
        k.AssertInvariants();
    }

    [Test]
    public void CongestionWaitEndsWhenADeviceLeavesWriteCongestion()
    {
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        var bdi = k.Memory.BackingDev.NewInfo("hda");
        long left = -1, wokeAt = 0;
        int waitersWhileAsleep = -1;
        k.Spawn("writer", async self => await self.KernelCall(async m =>
        {
            bdi.SetCongested(BackingDev.WRITE);
            left = await k.Memory.BackingDev.CongestionWait(BackingDev.WRITE, 1000);
            wokeAt = m.Now;
            return 0;
        }));
        k.Spawn("device", async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds(5));
            await self.KernelCall(m =>
            {
                waitersWhileAsleep = k.Memory.BackingDev.Waiters(BackingDev.WRITE);
                bdi.ClearCongested(BackingDev.WRITE); // a request completed: the queue is no longer congested
                return ValueTask.FromResult(0L);
            });
        });
        k.RunUntilIdle().Should().BeTrue();
        waitersWhileAsleep.Should().Be(1);
        bdi.WriteCongested.Should().BeFalse();
        wokeAt.Should().BeLessThan(Ms.Of(10), "clear_bdi_congested woke the sleeper long before its 1,000-jiffy timeout");
        left.Should().BeGreaterThan(900);
        k.Memory.BackingDev.Waiters(BackingDev.WRITE).Should().Be(0);
        k.AssertInvariants();
    }
}
