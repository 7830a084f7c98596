// The tracepoint hub of one kernel. Subscribe to a typed event (`Trace.SchedSwitch += e => ...`)
// or attach a sink that sees every event (a recorder, the hasher). With nothing attached a
// tracepoint costs one null check and allocates nothing.
using Kernel.Core.Tasks;

namespace Kernel.Core.Trace;

public interface ITraceSink
{
    void Record(ITraceEvent e);
}

public sealed class Tracepoints
{
    private ITraceSink[] _sinks = [];

    public event Action<SchedSwitch>? SchedSwitch;
    public event Action<SchedWakeup>? SchedWakeup;
    public event Action<SchedMigrateTask>? SchedMigrateTask;
    public event Action<SchedProcessFork>? SchedProcessFork;
    public event Action<SchedProcessExit>? SchedProcessExit;
    public event Action<KernelOops>? Oops;
    public event Action<PageFaultUser>? PageFault;
    public event Action<MmPageAlloc>? PageAlloc;

    public void AddSink(ITraceSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sinks = [.. _sinks, sink];
    }

    public void RemoveSink(ITraceSink sink) => _sinks = _sinks.Where(s => s != sink).ToArray();

    private void Sink(ITraceEvent e)
    {
        foreach (var s in _sinks)
        {
            s.Record(e);
        }
    }

    internal void OnSchedSwitch(long now, int cpu, TaskStruct prev, TaskStruct next)
    {
        if (SchedSwitch is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new SchedSwitch(now, cpu, prev.Comm, prev.Pid, prev.Prio, prev.ExitState != 0 ? prev.ExitState : prev.State, next.Comm, next.Pid, next.Prio);
        SchedSwitch?.Invoke(e);
        Sink(e);
    }

    public void OnSchedWakeup(long now, int cpu, TaskStruct p, bool success, bool isNew)
    {
        if (SchedWakeup is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new SchedWakeup(now, cpu, p.Comm, p.Pid, p.Prio, success, p.Cpu, isNew);
        SchedWakeup?.Invoke(e);
        Sink(e);
    }

    public void OnSchedMigrateTask(long now, int cpu, TaskStruct p, int orig, int dest)
    {
        if (SchedMigrateTask is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new SchedMigrateTask(now, cpu, p.Comm, p.Pid, p.Prio, orig, dest);
        SchedMigrateTask?.Invoke(e);
        Sink(e);
    }

    public void OnSchedProcessFork(long now, int cpu, TaskStruct parent, TaskStruct child)
    {
        if (SchedProcessFork is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new SchedProcessFork(now, cpu, parent.Comm, parent.Pid, child.Comm, child.Pid);
        SchedProcessFork?.Invoke(e);
        Sink(e);
    }

    public void OnSchedProcessExit(long now, int cpu, TaskStruct p)
    {
        if (SchedProcessExit is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new SchedProcessExit(now, cpu, p.Comm, p.Pid, p.Prio);
        SchedProcessExit?.Invoke(e);
        Sink(e);
    }

    public void OnPageFault(long now, int cpu, int pid, long address, bool write, string result)
    {
        if (PageFault is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new PageFaultUser(now, cpu, pid, address, write, result);
        PageFault?.Invoke(e);
        Sink(e);
    }

    public void OnPageAlloc(long now, int cpu, int pfn, int order, uint gfp, bool free)
    {
        if (PageAlloc is null && _sinks.Length == 0)
        {
            return;
        }
        var e = new MmPageAlloc(now, cpu, pfn, order, gfp, free);
        PageAlloc?.Invoke(e);
        Sink(e);
    }

    internal void OnOops(long now, int cpu, string message)
    {
        var e = new KernelOops(now, cpu, message);
        Oops?.Invoke(e);
        Sink(e);
    }
}
