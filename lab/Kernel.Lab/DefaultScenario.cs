// The default scenario and its report. Wake-up latency is measured from the sched_wakeup
// tracepoint of a task to the sched_switch that puts it on a CPU.
using Kernel.Core.Tasks;
using Kernel.Core.Trace;
using Kernel.Process;
using Kernel.Sched;
using Spectre.Console;

namespace Kernel.Lab;

public sealed record LabOptions(int Cpus, int Hz, PreemptModel Preempt, SchedulerKind Scheduler, ulong Seed, double Seconds, string TracePath);

public static class DefaultScenario
{
    private const long Ms = 1_000_000;

    public static int Run(LabOptions o, TextWriter output)
    {
        if (o.Seconds <= 0 || double.IsNaN(o.Seconds) || o.Seconds > 3600)
        {
            output.WriteLine("--seconds must be in (0, 3600].");
            return 2;
        }
        LinuxKernel k;
        try
        {
            k = LinuxKernel.Boot(new KernelOptions { Cpus = o.Cpus, Hz = o.Hz, Preempt = o.Preempt, Scheduler = o.Scheduler, Seed = o.Seed });
        }
        catch (ArgumentException e)
        {
            output.WriteLine(e.Message);
            return 2;
        }
        var recorder = new TraceRecorder();
        var latency = new WakeupLatency();
        k.Trace.AddSink(recorder);
        k.Trace.AddSink(latency);
        var watched = Populate(k);

        long duration = (long)(o.Seconds * 1_000_000_000);
        k.Run(duration);

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 160;
        console.WriteLine($"Emulated Linux 2.6.20: {o.Cpus} CPUs, HZ={o.Hz}, preempt={o.Preempt}, scheduler={o.Scheduler}, seed={o.Seed}, {o.Seconds:0.###} s simulated");
        var table = new Table().Title("Tasks").AddColumns("pid", "comm", "policy/nice", "CPU share", "wakeups", "lat p50 (us)", "lat p95 (us)", "lat p99 (us)", "nvcsw", "nivcsw", "migrations");
        foreach (var t in watched)
        {
            var (n, p50, p95, p99) = latency.Percentiles(t.Pid);
            string pol = t.Policy is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR ? $"{t.Policy} {t.RtPriority}" : $"nice {t.Nice}";
            table.AddRow(t.Pid.ToString(), t.Comm, pol, $"{100.0 * t.SumExecRuntimeNs / duration:0.0}%", n.ToString(),
                Us(p50), Us(p95), Us(p99), t.Nvcsw.ToString(), t.Nivcsw.ToString(), t.Migrations.ToString());
        }
        console.Write(table);
        var cpuTable = new Table().Title("CPUs").AddColumns("cpu", "busy", "context switches", "nr_running now");
        foreach (var c in k.Machine.Cpus)
        {
            cpuTable.AddRow($"cpu{c.Id}", $"{100.0 * c.BusyNs / duration:0.0}%", k.Scheduler.NrSwitches(c.Id).ToString(), k.Scheduler.NrRunning(c.Id).ToString());
        }
        console.Write(cpuTable);
        output.WriteLine("/proc/loadavg: " + k.Proc.LoadAvg().TrimEnd());
        output.WriteLine("/proc/schedstat:");
        output.Write(k.Proc.SchedStat());
        output.WriteLine($"simulated {o.Seconds:0.###} s in {k.Machine.EventsProcessed} events; {recorder.Events.Count} trace events");
        var problems = k.CheckInvariants();
        output.WriteLine(problems.Count == 0 ? "invariants: ok" : "invariants VIOLATED: " + string.Join("; ", problems));
        if (!string.IsNullOrEmpty(o.TracePath))
        {
            using var f = File.Create(o.TracePath);
            PerfettoExport.Write(recorder.Events, o.Cpus, k.Now, f);
            output.WriteLine($"trace written to {Path.GetFullPath(o.TracePath)} (open in ui.perfetto.dev)");
        }
        return problems.Count == 0 ? 0 : 1;
    }

    /// <summary>The scenario's programs: hogs at six nice levels, an interactive task, a forker, a FIFO task.</summary>
    public static List<TaskStruct> Populate(LinuxKernel k)
    {
        var watched = new List<TaskStruct>();
        foreach (int nice in new[] { -5, 0, 0, 5, 10, 19 })
        {
            watched.Add(k.Spawn($"hog{nice:+#;-#;0}", Hog, new LinuxKernel.SpawnOptions { Nice = nice }));
        }
        watched.Add(k.Spawn("interactive", Interactive));
        watched.Add(k.Spawn("forker", Forker));
        watched.Add(k.Spawn("rt-fifo", RtTask, new LinuxKernel.SpawnOptions { Policy = SchedPolicy.SCHED_FIFO, RtPriority = 50 }));
        return watched;
    }

    private static string Us(long ns) => ns < 0 ? "-" : (ns / 1000.0).ToString("0.0");

    private static async ValueTask Hog(Syscalls.UserTask self)
    {
        while (true)
        {
            await self.Compute(50 * Ms);
        }
    }

    private static async ValueTask Interactive(Syscalls.UserTask self)
    {
        while (true)
        {
            await self.Nanosleep(20 * Ms);
            await self.Compute(Ms);
        }
    }

    private static async ValueTask Forker(Syscalls.UserTask self)
    {
        while (true)
        {
            for (int i = 0; i < 8; i++)
            {
                await self.Fork(async c => await c.Compute(2 * Ms), "worker");
            }
            for (int i = 0; i < 8; i++)
            {
                await self.Wait4(-1);
            }
            await self.Nanosleep(100 * Ms);
        }
    }

    private static async ValueTask RtTask(Syscalls.UserTask self)
    {
        while (true)
        {
            await self.Nanosleep(50 * Ms);
            await self.Compute(Ms / 2);
        }
    }
}

/// <summary>Wake-up to run latency per pid, from the sched_wakeup and sched_switch tracepoints.</summary>
public sealed class WakeupLatency : ITraceSink
{
    private readonly Dictionary<int, long> _wokenAt = new();
    private readonly Dictionary<int, List<long>> _samples = new();

    public void Record(ITraceEvent e)
    {
        switch (e)
        {
            case SchedWakeup w when w.Success && w.Pid != 0:
                _wokenAt[w.Pid] = w.TimeNs;
                break;
            case SchedSwitch s when s.NextPid != 0 && _wokenAt.Remove(s.NextPid, out long at):
                if (!_samples.TryGetValue(s.NextPid, out var list))
                {
                    _samples[s.NextPid] = list = new List<long>();
                }
                list.Add(s.TimeNs - at);
                break;
        }
    }

    public (int Count, long P50, long P95, long P99) Percentiles(int pid)
    {
        if (!_samples.TryGetValue(pid, out var list) || list.Count == 0)
        {
            return (0, -1, -1, -1);
        }
        var sorted = list.OrderBy(x => x).ToArray();
        long P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return (sorted.Length, P(0.50), P(0.95), P(0.99));
    }
}
