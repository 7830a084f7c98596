// The tracepoint hub of one kernel. Each subsystem registers its own tracepoints at boot
// (Register<T>("mm_page_alloc")); Core's scheduler and oops events are declared here. Subscribe
// to one typed event (`Trace.SchedSwitch += e => ...`, `Trace.Get<T>(name).Fired += ...`) or
// attach a sink that sees every event (a recorder, the hasher). With nothing attached a
// tracepoint costs one check and allocates nothing.
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
    private readonly Dictionary<string, ITracepoint> _points = new(StringComparer.Ordinal);

    /// <summary>Declare a subsystem's tracepoint (once per name, at boot).</summary>
    public Tracepoint<T> Register<T>(string name)
        where T : struct, ITraceEvent
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var tp = new Tracepoint<T>(this, name);
        if (!_points.TryAdd(name, tp))
        {
            throw new InvalidOperationException($"Tracepoint {name} is already registered.");
        }
        return tp;
    }

    /// <summary>A registered tracepoint by name.</summary>
    public Tracepoint<T> Get<T>(string name)
        where T : struct, ITraceEvent =>
        _points.TryGetValue(name, out var tp) && tp is Tracepoint<T> typed
            ? typed
            : throw new KeyNotFoundException($"No tracepoint {name} of type {typeof(T).Name} is registered.");

    /// <summary>Every tracepoint registered by the subsystems, by name (Core's own sched events are fields).</summary>
    public IReadOnlyCollection<ITracepoint> Registered => _points.Values;

    internal bool HasSinks => _sinks.Length != 0;

    public void AddSink(ITraceSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sinks = [.. _sinks, sink];
    }

    public void RemoveSink(ITraceSink sink) => _sinks = _sinks.Where(s => s != sink).ToArray();

    internal void Sink<T>(in T e)
        where T : struct, ITraceEvent
    {
        if (_sinks.Length == 0)
        {
            return;
        }
        ITraceEvent boxed = e;
        foreach (var s in _sinks)
        {
            s.Record(boxed);
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

    internal void OnOops(long now, int cpu, string message)
    {
        var e = new KernelOops(now, cpu, message);
        Oops?.Invoke(e);
        Sink(e);
    }
}
