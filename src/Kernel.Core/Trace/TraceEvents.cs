// Typed tracepoints, named and formatted as Linux's ftrace events (include/trace/events/sched.h
// of later kernels; 2.6.20 had no tracepoints, so the format is the one users know today).
using Kernel.Core.Tasks;

namespace Kernel.Core.Trace;

public interface ITraceEvent
{
    long TimeNs { get; }

    int Cpu { get; }

    string Name { get; }

    /// <summary>The event's fields as ftrace prints them after "name: ".</summary>
    string FormatArgs();
}

public readonly record struct SchedSwitch(long TimeNs, int Cpu, string PrevComm, int PrevPid, int PrevPrio, TaskState PrevState,
    string NextComm, int NextPid, int NextPrio) : ITraceEvent
{
    public string Name => "sched_switch";

    public string FormatArgs() =>
        $"prev_comm={PrevComm} prev_pid={PrevPid} prev_prio={PrevPrio} prev_state={StateChar(PrevState)} ==> next_comm={NextComm} next_pid={NextPid} next_prio={NextPrio}";

    internal static string StateChar(TaskState s) => s switch
    {
        TaskState.TASK_RUNNING => "R",
        TaskState.TASK_INTERRUPTIBLE => "S",
        TaskState.TASK_UNINTERRUPTIBLE => "D",
        TaskState.TASK_STOPPED => "T",
        TaskState.TASK_TRACED => "t",
        TaskState.EXIT_ZOMBIE => "Z",
        TaskState.EXIT_DEAD => "X",
        _ => ((int)s).ToString(),
    };
}

public readonly record struct SchedWakeup(long TimeNs, int Cpu, string Comm, int Pid, int Prio, bool Success, int TargetCpu, bool New)
    : ITraceEvent
{
    public string Name => New ? "sched_wakeup_new" : "sched_wakeup";

    public string FormatArgs() => $"comm={Comm} pid={Pid} prio={Prio} success={(Success ? 1 : 0)} target_cpu={TargetCpu:000}";
}

public readonly record struct SchedMigrateTask(long TimeNs, int Cpu, string Comm, int Pid, int Prio, int OrigCpu, int DestCpu) : ITraceEvent
{
    public string Name => "sched_migrate_task";

    public string FormatArgs() => $"comm={Comm} pid={Pid} prio={Prio} orig_cpu={OrigCpu} dest_cpu={DestCpu}";
}

public readonly record struct SchedProcessFork(long TimeNs, int Cpu, string ParentComm, int ParentPid, string ChildComm, int ChildPid) : ITraceEvent
{
    public string Name => "sched_process_fork";

    public string FormatArgs() => $"comm={ParentComm} pid={ParentPid} child_comm={ChildComm} child_pid={ChildPid}";
}

public readonly record struct SchedProcessExit(long TimeNs, int Cpu, string Comm, int Pid, int Prio) : ITraceEvent
{
    public string Name => "sched_process_exit";

    public string FormatArgs() => $"comm={Comm} pid={Pid} prio={Prio}";
}

public readonly record struct KernelOops(long TimeNs, int Cpu, string Message) : ITraceEvent
{
    public string Name => "oops";

    public string FormatArgs() => Message;
}
