using FluentAssertions;
using Kernel.Futex;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Futex;

/// <summary>/proc/PID/task/TID, the thread count of /proc/PID/status, and the futex tracepoints.</summary>
[Parallelizable(ParallelScope.All)]
public class ThreadProcTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    [Test]
    public void TheTaskDirectoryListsTheGroupsThreadsAndStatusCountsThem()
    {
        string? status = null, threadStatus = null, foreign = null;
        IReadOnlyList<string>? taskDir = null, procDir = null;
        var tids = new List<long>();
        long pid = 0, otherPid = 0;
        var waits = new List<FutexWaitEvent>();
        var wakes = new List<FutexWakeEvent>();
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        k.Futexes.Tracepoints.Wait.Fired += e => waits.Add(e);
        k.Futexes.Tracepoints.Wake.Fired += e => wakes.Add(e);
        var t = k.Spawn("prog", async self =>
        {
            pid = self.Getpid();
            long m = await self.Mmap(0, Page, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            otherPid = await self.Fork(async c => await c.Nanosleep(Ms.Of(5)));
            for (int i = 0; i < 3; i++)
            {
                long w = m + 8 * i;
                tids.Add(await self.Clone(Threads.Nptl, async th => await th.Nanosleep(Ms.Of(3)), parentTid: w, childTid: w));
            }
            status = k.Proc.Read($"/proc/{pid}/status");
            taskDir = k.Proc.ReadDir($"/proc/{pid}/task");
            procDir = k.Proc.ReadDir("/proc");
            threadStatus = k.Proc.Read($"/proc/{pid}/task/{tids[1]}/status");
            foreign = k.Proc.Read($"/proc/{pid}/task/{otherPid}/status");
            for (int i = 0; i < 3; i++)
            {
                await Threads.Join(self, m + 8 * i);
            }
            await self.Wait4((int)otherPid);
        });
        k.RunUntilIdle().Should().BeTrue();
        t.ExitCode.Should().Be(0);
        k.AssertInvariants();
        status.Should().Contain("Threads:\t4\n");
        taskDir.Should().Equal(new[] { pid }.Concat(tids).Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        procDir.Should().Contain(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.NotContain(tids[1].ToString(System.Globalization.CultureInfo.InvariantCulture), "readdir of /proc hides threads");
        threadStatus.Should().Contain($"Pid:\t{tids[1]}\n").And.Contain($"Tgid:\t{pid}\n").And.Contain("Threads:\t4\n");
        foreign.Should().BeNull("another process is not in this group's task directory");
        wakes.Where(e => tids.Contains(e.Pid)).Select(e => e.NrWake).Should().Equal(Enumerable.Repeat(1, 3), "each thread's exit does one FUTEX_WAKE of 1 on its tid word");
        waits.Should().OnlyContain(e => e.Result == 0 && e.SleptNs > 0, "every join wait that slept was woken");
        waits.Should().NotBeEmpty();
    }
}
