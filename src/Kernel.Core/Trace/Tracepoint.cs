// One tracepoint: a named, typed event that a subsystem declares at boot with
// Tracepoints.Register and fires with Emit. Subscribers get the typed value; the hub's sinks
// (recorder, hasher, Perfetto) see it as an ITraceEvent. With nobody listening, Emit's caller
// checks Enabled first and builds nothing, so a tracepoint costs one branch and no allocation.
namespace Kernel.Core.Trace;

public sealed class Tracepoint<T> : ITracepoint
    where T : struct, ITraceEvent
{
    private readonly Tracepoints _hub;

    internal Tracepoint(Tracepoints hub, string name)
    {
        _hub = hub;
        Name = name;
    }

    public string Name { get; }

    public Type EventType => typeof(T);

    /// <summary>Typed subscribers (`tp.Fired += e => ...`).</summary>
    public event Action<T>? Fired;

    /// <summary>True when someone listens: build the event only then.</summary>
    public bool Enabled => Fired is not null || _hub.HasSinks;

    public void Emit(in T e)
    {
        Fired?.Invoke(e);
        _hub.Sink(e);
    }
}

/// <summary>What the hub knows of any tracepoint.</summary>
public interface ITracepoint
{
    string Name { get; }

    Type EventType { get; }
}
