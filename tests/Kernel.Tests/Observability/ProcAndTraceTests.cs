using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Trace;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Observability;

[Parallelizable(ParallelScope.All)]
public class ProcAndTraceTests
{
    [Test]
    public void ProcPidStatHasTheFortyTwoFieldsOf2620()
    {
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("hog", Programs.Hog, new LinuxKernel.SpawnOptions { Nice = 5 });
        k.Run(Ms.Of(500));
        var stat = k.Proc.Read($"/proc/{t.Pid}/stat")!;
        var fields = stat.TrimEnd('\n').Split(' ');
        fields.Should().HaveCount(42, "2.6.20 ends the line with delayacct_blkio_ticks");
        fields[0].Should().Be(t.Pid.ToString());
        fields[1].Should().Be("(hog)");
        fields[2].Should().Be("R");
        fields[3].Should().Be("1", "spawned processes are init's children");
        long utime = long.Parse(fields[13]);
        utime.Should().BeInRange(45, 51, "a hog alone on the CPU accrues ~50 USER_HZ ticks in 500 ms");
        fields[17].Should().Be((t.Prio - 100).ToString());
        fields[18].Should().Be("5");
        fields[38].Should().Be("0", "processor");
        fields[40].Should().Be("0", "policy SCHED_NORMAL");
    }

    [Test]
    public void FaultAndSyscallTimeIsSystemTimeInProcStat()
    {
        // 8,192 write faults (each with its page allocation and zeroing), then 8 ms of user
        // compute. Ticks landing in the fault path's kernel time are system time
        // (account_system_time), not user time.
        var k = KernelBuilder.New().Hz(1000).Boot();
        var t = k.Spawn("faulter", async self =>
        {
            long a = await self.Mmap(0, 32L << 20, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Touch(a, 32L << 20, write: true);
            await self.Compute(Ms.Of(8));
            await self.Pause();
        });
        k.Run(Ms.Of(200));
        t.MinFlt.Should().Be(8192);
        long kernelMs = (t.SumExecRuntimeNs - Ms.Of(8)) / Ms.NS;
        kernelMs.Should().BeGreaterThan(8);
        t.Stime.Should().BeInRange(kernelMs - 2, kernelMs + 2, "the fault path's kernel time is sampled as system time");
        t.Utime.Should().BeInRange(6, 10, "only the compute is user time");
        var fields = k.Proc.Read($"/proc/{t.Pid}/stat")!.TrimEnd('\n').Split(' ');
        long.Parse(fields[14]).Should().BeGreaterThan(long.Parse(fields[13]), "stime > utime in USER_HZ too");
        k.AssertInvariants();
    }

    [Test]
    public void ProcPidStatusShowsStateSleepAvgAndIds()
    {
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("sleepy", Programs.Sleeper(50, 1), new LinuxKernel.SpawnOptions { Uid = 1000 });
        k.Run(Ms.Of(1000));
        var status = k.Proc.Read($"/proc/{t.Pid}/status")!;
        status.Should().StartWith("Name:\tsleepy\nState:\tS (sleeping)\nSleepAVG:\t");
        Regex.Match(status, @"SleepAVG:\t(\d+)%").Groups[1].Value.Should().NotBe("0");
        status.Should().Contain($"Pid:\t{t.Pid}\nPPid:\t1\n");
        status.Should().Contain("Uid:\t1000\t1000\t1000\t1000\n");
        status.Should().Contain("CapEff:\t0000000000000000\n");
        status.Should().MatchRegex(@"voluntary_ctxt_switches:\t[1-9]\d*");
    }

    [Test]
    public void ProcStatCountsTicksPerCpuAndContextSwitches()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        k.Spawn("hog", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Spawn("nicehog", Programs.Hog, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(1), Nice = 10 });
        k.Run(Ms.Of(1000));
        var lines = k.Proc.Read("/proc/stat")!.Split('\n');
        lines[0].Should().MatchRegex(@"^cpu  \d+ \d+ \d+ \d+ \d+ \d+ \d+ \d+$");
        var cpu0 = lines[1].Split(' ').Skip(1).Select(long.Parse).ToArray();
        var cpu1 = lines[2].Split(' ').Skip(1).Select(long.Parse).ToArray();
        cpu0[0].Should().BeInRange(95, 100, "cpu0 spent the second in user mode at nice 0");
        cpu1[1].Should().BeInRange(95, 100, "cpu1's user time is counted as nice");
        cpu0.Sum().Should().BeInRange(99, 100, "every tick is accounted somewhere");
        lines.Should().Contain(l => l.StartsWith("ctxt "));
        lines.Should().Contain("btime 1170547200");
        lines.Should().Contain(l => Regex.IsMatch(l, @"^procs_running [1-9]"));
    }

    [Test]
    public void LoadAverageRisesTowardsTheNumberOfRunnableTasks()
    {
        var k = KernelBuilder.New().Boot();
        for (int i = 0; i < 3; i++)
        {
            k.Spawn("hog", Programs.Hog);
        }
        k.Run(Ms.Of(300_000));
        var la = k.Proc.LoadAvg();
        la.Should().MatchRegex(@"^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+\n$");
        double one = double.Parse(la.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        one.Should().BeApproximately(3.0, 0.05, "after five minutes the 1-minute average has converged");
    }

    [Test]
    public void SchedstatIsVersion14WithOneDomainLinePerCpu()
    {
        var k = KernelBuilder.New().Cpus(2).Boot();
        k.Spawn("hog", Programs.Hog);
        k.Spawn("hog", Programs.Hog);
        k.Run(Ms.Of(200));
        var lines = k.Proc.SchedStat().TrimEnd('\n').Split('\n');
        lines[0].Should().Be("version 14");
        lines[1].Should().MatchRegex(@"^timestamp \d+$");
        lines[2].Should().MatchRegex(@"^cpu0( \d+){12}$");
        lines[3].Should().MatchRegex(@"^domain0 3( \d+){36}$");
        lines.Should().HaveCount(6);
    }

    [Test]
    public void TracepointSubscribersSeeTypedEvents()
    {
        var k = KernelBuilder.New().Boot();
        var forks = new List<SchedProcessFork>();
        var exits = new List<SchedProcessExit>();
        k.Trace.SchedProcessFork += forks.Add;
        k.Trace.SchedProcessExit += exits.Add;
        var p = k.Spawn("parent", async self =>
        {
            await self.Fork(async c => await c.Compute(1000), "kid");
            await self.Wait4(-1);
        });
        k.RunUntilIdle();
        forks.Should().Contain(f => f.ParentPid == p.Pid && f.ChildComm == "kid");
        exits.Select(e => e.Comm).Should().Contain(["kid", "parent"]);
        forks.Last().FormatArgs().Should().Be($"comm=parent pid={p.Pid} child_comm=kid child_pid={forks.Last().ChildPid}");
    }

    [Test]
    public void PerfettoExportIsValidJsonWithOneTrackPerCpu()
    {
        var k = KernelBuilder.New().Cpus(3).Boot();
        var rec = new TraceRecorder();
        k.Trace.AddSink(rec);
        for (int i = 0; i < 4; i++)
        {
            k.Spawn("hog", Programs.Hog);
        }
        k.Run(Ms.Of(300));
        using var ms = new MemoryStream();
        PerfettoExport.Write(rec.Events, 3, k.Now, ms);
        using var doc = JsonDocument.Parse(ms.ToArray());
        var evs = doc.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        evs.Count(e => e.GetProperty("ph").GetString() == "M").Should().Be(3);
        var slices = evs.Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        slices.Should().NotBeEmpty();
        slices.Select(e => e.GetProperty("tid").GetInt32()).Distinct().Should().BeEquivalentTo([0, 1, 2]);
        slices.Should().OnlyContain(e => e.GetProperty("dur").GetDouble() >= 0);
    }

    [Test]
    public void ReadingAPathThatDoesNotExistReturnsNull()
    {
        var k = KernelBuilder.New().Boot();
        k.Proc.Read("/proc/99999/status").Should().BeNull();
        k.Proc.Read("/proc/nope").Should().BeNull();
        k.Proc.Read("/sys/block").Should().BeNull();
    }
    /// <summary>The event a toy subsystem declares (as docs/architecture.md shows).</summary>
    private readonly record struct ToyDiskIo(long TimeNs, int Cpu, int Sector) : ITraceEvent
    {
        public string Name => "toy_disk_io";

        public string FormatArgs() => $"sector={Sector}";
    }

    private sealed record ToyCosts
    {
        public long SeekNs { get; init; } = 8_000_000;
    }

    [Test]
    public void ASubsystemRegistersItsTracepointProcFileAndCostsAtBoot()
    {
        var k = KernelBuilder.New().Boot();
        var m = k.Machine;
        // What a block layer does at boot: a tracepoint, a writable /sys file, a cost record.
        var io = m.Trace.Register<ToyDiskIo>("toy_disk_io");
        string scheduler = "deadline";
        m.ProcFiles.Register("/sys/block/toy/queue/scheduler", () => $"noop [{scheduler}]\n", text =>
        {
            var name = text.Trim();
            if (name is not ("noop" or "deadline"))
            {
                return Errno.EINVAL.Ret();
            }
            scheduler = name;
            return 0;
        });
        var costs = new ToyCosts();
        CostRecords.Validate(costs);
        CostRecords.Entries(costs).Should().Equal(("SeekNs", 8_000_000L));
        var act = () => CostRecords.Validate(costs with { SeekNs = -1 });
        act.Should().Throw<ArgumentException>().WithMessage("*ToyCosts.SeekNs*");

        var seen = new List<ToyDiskIo>();
        var rec = new TraceRecorder();
        m.Trace.AddSink(rec);
        io.Fired += seen.Add;
        io.Enabled.Should().BeTrue();
        io.Emit(new ToyDiskIo(m.Now, 0, 42));
        seen.Should().ContainSingle().Which.Sector.Should().Be(42);
        rec.Events.Should().Contain(e => e.Name == "toy_disk_io");
        m.Trace.Get<ToyDiskIo>("toy_disk_io").Should().BeSameAs(io);
        m.Trace.Registered.Select(t => t.Name).Should().Contain(["toy_disk_io", "page_fault_user", "mm_page_alloc"]);
        var dup = () => m.Trace.Register<ToyDiskIo>("toy_disk_io");
        dup.Should().Throw<InvalidOperationException>();

        k.Proc.Read("/sys/block/toy/queue/scheduler").Should().Be("noop [deadline]\n");
        k.Proc.Write("/sys/block/toy/queue/scheduler", "cfq").Should().Be(Errno.EINVAL.Ret());
        k.Proc.Write("/sys/block/toy/queue/scheduler", "noop\n").Should().Be(0);
        k.Proc.Read("/sys/block/toy/queue/scheduler").Should().Be("noop [noop]\n");
        m.ProcFiles.Paths.Should().Contain(["/proc/meminfo", "/proc/sys/vm/overcommit_memory", "/sys/block/toy/queue/scheduler"]);
    }
    [Test]
    public void TheFreeCostTablesAreZeroInEveryEntryAndTheDefaultsAreNot()
    {
        CostRecords.Entries(CostTable.Free).Should().OnlyContain(e => e.Value == 0).And.HaveCountGreaterThan(10);
        CostRecords.Entries(Kernel.Mm.MmCosts.Free).Should().OnlyContain(e => e.Value == 0).And.HaveCountGreaterThan(10);
        CostRecords.Entries(CostTable.Default).Should().OnlyContain(e => e.Value > 0);
        CostRecords.Entries(Kernel.Mm.MmCosts.Default).Should().OnlyContain(e => e.Value > 0);
        CostTable.Default.SyscallNs.Should().Be(150, "AllFree built a new record and left the defaults alone");
    }
}
