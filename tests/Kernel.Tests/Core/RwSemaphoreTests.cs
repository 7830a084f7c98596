using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Core;

/// <summary>rw_semaphore (mmap_sem's type): shared readers, exclusive writers, FIFO with no barging.</summary>
[Parallelizable(ParallelScope.All)]
public class RwSemaphoreTests
{
    [Test]
    public void AWaitingWriterIsNotOvertakenByLaterReadersAndReadersAreWokenTogether()
    {
        var k = KernelBuilder.New().Cpus(4).Hz(1000).Boot();
        var sem = new KRwSemaphore("test_sem");
        var got = new Dictionary<string, long>();
        UserProgram Holder(string name, double startMs, bool write, double holdMs) => async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds((long)startMs));
            await self.KernelCall(async m =>
            {
                if (write)
                {
                    await sem.DownWrite(m);
                }
                else
                {
                    await sem.DownRead(m);
                }
                got[name] = m.Now;
                await m.Work(Ms.Of(holdMs));
                if (write)
                {
                    sem.UpWrite(m);
                }
                else
                {
                    sem.UpRead(m);
                }
                return 0;
            });
        };
        k.Spawn("r1", Holder("r1", 1, write: false, holdMs: 10), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Spawn("w", Holder("w", 3, write: true, holdMs: 5), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        k.Spawn("r2", Holder("r2", 5, write: false, holdMs: 2), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(2) });
        k.Spawn("r3", Holder("r3", 6, write: false, holdMs: 2), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(3) });
        k.RunUntil(() => k.Tasks.Any(t => t.Comm == "r2" && t.State == TaskState.TASK_UNINTERRUPTIBLE), Ms.Of(8)).Should().BeTrue();
        k.Proc.Read($"/proc/{k.Tasks.First(t => t.Comm == "r2").Pid}/stat")!.Split(' ')[2].Should().Be("D", "rwsem waiters sleep uninterruptibly");
        sem.DownWriteTrylock().Should().BeFalse();
        sem.DownReadTrylock().Should().BeFalse("a writer is waiting: no barging");
        k.RunUntilIdle().Should().BeTrue();
        got["r1"].Should().BeLessThan(Ms.Of(3));
        got["w"].Should().BeGreaterThanOrEqualTo(got["r1"] + Ms.Of(10), "the writer waits for the reader");
        got["r2"].Should().BeGreaterThan(got["w"] + Ms.Of(4.9), "a reader that came after the waiting writer waits for it");
        // Woken together on two CPUs, the two readers may meet on a spinlock on their way in.
        got["r3"].Should().BeCloseTo(got["r2"], 1_000, "up_write wakes the readers at the front together");
        sem.Activity.Should().Be(0);
        sem.Contentions.Should().Be(3);
        k.AssertInvariants();
    }

    [Test]
    public void DowngradeWriteLetsTheWaitingReadersIn()
    {
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        var sem = new KRwSemaphore();
        long readerGot = 0, downgradedAt = 0;
        k.Spawn("w", async self => await self.KernelCall(async m =>
        {
            await sem.DownWrite(m);
            await m.Work(Ms.Of(3));
            sem.DowngradeWrite(m);
            downgradedAt = m.Now;
            await m.Work(Ms.Of(3));
            sem.UpRead(m);
            return 0;
        }), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Spawn("r", async self =>
        {
            await self.Nanosleep(TimeSpec.FromMilliseconds(1));
            await self.KernelCall(async m =>
            {
                await sem.DownRead(m);
                readerGot = m.Now;
                sem.UpRead(m);
                return 0;
            });
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1) });
        k.RunUntilIdle().Should().BeTrue();
        readerGot.Should().BeInRange(downgradedAt, downgradedAt + Ms.Of(0.1), "the reader shares the downgraded lock at once");
        k.AssertInvariants();
    }

    [Test]
    public void CloneVmSharesTheMmapSemAndForkGivesTheChildItsOwn()
    {
        var k = KernelBuilder.New().Boot();
        KRwSemaphore? parentSem = null, threadSem = null, childSem = null;
        k.Spawn("p", async self =>
        {
            parentSem = self.TaskStruct.Mm!.MmapSem;
            await self.Clone(CloneFlags.CLONE_VM | (CloneFlags)Signals.SIGCHLD, async c =>
            {
                threadSem = c.TaskStruct.Mm!.MmapSem;
                await c.Exit(0);
            });
            long pid = await self.Fork(async c =>
            {
                childSem = c.TaskStruct.Mm!.MmapSem;
                await c.Exit(0);
            });
            await self.Wait4(-1);
            await self.Wait4(-1);
        });
        k.RunUntilIdle().Should().BeTrue();
        parentSem.Should().NotBeNull();
        threadSem.Should().BeSameAs(parentSem, "one mm, one mmap_sem");
        childSem.Should().NotBeNull().And.NotBeSameAs(parentSem, "dup_mm makes a new mm_struct");
        k.AssertInvariants();
    }
}
