// The futex code's tracepoints (2.6.20 has none; these follow the shape later kernels' syscall
// tracing gives a futex call): futex_wait when a wait ends (how long it slept, how it ended),
// futex_wake and futex_requeue with their counts, futex_lock_pi when a PI lock is taken or given
// up. Keys print as FutexKey does: private:ADDRESS+OFFSET or shared:FILE:PGOFF+OFFSET.
using Kernel.Core.Trace;

namespace Kernel.Futex;

public sealed class FutexTracepoints
{
    internal FutexTracepoints(Tracepoints hub)
    {
        Wait = hub.Register<FutexWaitEvent>("futex_wait");
        Wake = hub.Register<FutexWakeEvent>("futex_wake");
        Requeue = hub.Register<FutexRequeueEvent>("futex_requeue");
        LockPi = hub.Register<FutexLockPiEvent>("futex_lock_pi");
    }

    public Tracepoint<FutexWaitEvent> Wait { get; }

    public Tracepoint<FutexWakeEvent> Wake { get; }

    public Tracepoint<FutexRequeueEvent> Requeue { get; }

    public Tracepoint<FutexLockPiEvent> LockPi { get; }
}

/// <summary>A FUTEX_WAIT (or WAIT_BITSET) that slept and ended: its result and the time it slept.</summary>
public readonly record struct FutexWaitEvent(long TimeNs, int Cpu, int Pid, string Key, long Result, long SleptNs) : ITraceEvent
{
    public string Name => "futex_wait";

    public string FormatArgs() => $"pid={Pid} key={Key} ret={Result} slept_ns={SleptNs}";
}

/// <summary>A FUTEX_WAKE (or WAKE_BITSET, or one of WAKE_OP's keys): asked for and woken.</summary>
public readonly record struct FutexWakeEvent(long TimeNs, int Cpu, int Pid, string Key, int NrWake, int Woken) : ITraceEvent
{
    public string Name => "futex_wake";

    public string FormatArgs() => $"pid={Pid} key={Key} nr_wake={NrWake} woken={Woken}";
}

/// <summary>A FUTEX_REQUEUE or CMP_REQUEUE: woken from the first key, moved to the second.</summary>
public readonly record struct FutexRequeueEvent(long TimeNs, int Cpu, int Pid, string Key1, string Key2, int Woken, int Requeued) : ITraceEvent
{
    public string Name => "futex_requeue";

    public string FormatArgs() => $"pid={Pid} key1={Key1} key2={Key2} woken={Woken} requeued={Requeued}";
}

/// <summary>A FUTEX_LOCK_PI that had to block ended: its result and the time it waited.</summary>
public readonly record struct FutexLockPiEvent(long TimeNs, int Cpu, int Pid, string Key, long Result, long WaitedNs) : ITraceEvent
{
    public string Name => "futex_lock_pi";

    public string FormatArgs() => $"pid={Pid} key={Key} ret={Result} waited_ns={WaitedNs}";
}
