using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>The OOM killer (mm/oom_kill.c): badness, the choice, its exclusions, oom_adj and oom_score.</summary>
[Parallelizable(ParallelScope.All)]
public class OomTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;

    private static LinuxKernel Small()
    {
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { MemoryBytes = 16 * MemoryLayout.MiB } }).Boot();
        k.Proc.Write("/proc/sys/vm/overcommit_memory", "1").Should().Be(0);
        return k;
    }

    /// <summary>A program that touches `bytes` of anonymous memory, then waits until told to exit.</summary>
    private static UserProgram Eater(long bytes, Func<bool> stop, Action touched) => async self =>
    {
        long a = await self.Mmap(0, bytes, RW, Anon);
        await self.Touch(a, bytes, write: true);
        touched();
        while (!stop())
        {
            await self.Nanosleep(5_000_000);
        }
        await self.Exit(0);
    };

    [Test]
    public void TheBiggestOffenderIsKilledAndTheOthersAndInitLiveOn()
    {
        var k = Small();
        var victims = new List<int>();
        k.Memory.Tracepoints.MarkVictim.Fired += e => victims.Add(e.Pid);
        bool stop = false, smallReady = false;
        var small = k.Spawn("small", Eater(1L << 20, () => stop, () => smallReady = true));
        k.RunUntil(() => smallReady, 1_000_000_000).Should().BeTrue();
        var big = k.Spawn("big", Eater(64L << 20, () => stop, () => { }));
        k.RunUntilExit(big, 10_000_000_000).Should().BeTrue();
        stop = true;
        k.RunUntilExit(small, 1_000_000_000).Should().BeTrue();
        big.ExitCode.Should().Be(Signals.SIGKILL);
        victims.Should().Equal(new[] { big.Pid }, "oom:mark_victim fires once, for the task killed");
        small.ExitCode.Should().Be(0, "the small process was never the worst");
        k.Init.ExitState.Should().Be((TaskState)0);
        k.Memory.Oom.Log.Should().Contain(l => l.StartsWith($"Out of memory: kill process {big.Pid} (big) score ", StringComparison.Ordinal))
            .And.Contain($"Killed process {big.Pid} (big)")
            .And.NotContain(l => l.Contains("(small)", StringComparison.Ordinal) || l.Contains("(init)", StringComparison.Ordinal));
        k.AssertInvariants();
    }

    [Test]
    public void OomDisableExemptsATaskAndWithNothingElseToKillTheFaultKillsItsTask()
    {
        var k = Small();
        bool stop = false, smallReady = false;
        var small = k.Spawn("small", Eater(1L << 20, () => stop, () => smallReady = true));
        k.RunUntil(() => smallReady, 1_000_000_000).Should().BeTrue();
        var big = k.Spawn("big", async self =>
        {
            await self.Nanosleep(1_000_000);
            long a = await self.Mmap(0, 64L << 20, RW, Anon);
            await self.Touch(a, 64L << 20, write: true);
            await self.Exit(0);
        });
        k.Proc.Write($"/proc/{big.Pid}/oom_adj", "-17").Should().Be(0);
        var ok = k.RunUntilExit(big, 10_000_000_000);
        ok.Should().BeTrue();
        stop = true;
        k.RunUntilIdle(2_000_000_000);
        small.ExitCode.Should().Be(Signals.SIGKILL, "with the hog exempt, the OOM killer took the only other candidate");
        big.ExitCode.Should().Be(Signals.SIGKILL, "then nothing was left to kill, and the fault killed its own task");
        k.Memory.Oom.Log.Should().Contain("Out of memory and no killable processes...");
        k.Machine.Oopses.Should().Contain(o => o.Message == "VM: killing process big");
        k.AssertInvariants();
    }

    [Test]
    public void OomScoreFollowsTheSizeAndOomAdjShiftsIt()
    {
        var k = KernelBuilder.New().Boot();
        bool stop = false;
        int ready = 0;
        var a = k.Spawn("a", Eater(1L << 20, () => stop, () => ready++), new LinuxKernel.SpawnOptions { Uid = 1000 });
        var b = k.Spawn("b", Eater(8L << 20, () => stop, () => ready++), new LinuxKernel.SpawnOptions { Uid = 1000 });
        k.RunUntil(() => ready == 2, 1_000_000_000).Should().BeTrue();
        long Score(TaskStruct t) => long.Parse(k.Proc.Read($"/proc/{t.Pid}/oom_score")!, System.Globalization.CultureInfo.InvariantCulture);
        long sa = Score(a), sb = Score(b);
        sb.Should().BeGreaterThan(4 * sa, "total_vm is the basis of the score");
        k.Proc.Write($"/proc/{a.Pid}/oom_adj", "3").Should().Be(0);
        Score(a).Should().Be(sa << 3);
        k.Proc.Read($"/proc/{a.Pid}/oom_adj").Should().Be("3\n");
        k.Proc.Write($"/proc/{a.Pid}/oom_adj", "16").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Write($"/proc/{a.Pid}/oom_adj", "x").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Read($"/proc/{k.Init.Pid}/oom_score").Should().NotBeNull("init has a score, though it is never chosen");
        stop = true;
        k.RunUntilIdle(1_000_000_000);
    }
}
