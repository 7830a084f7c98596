// Everything that shapes one emulated kernel. Same options + same seed + same programs = the
// same trace, bit for bit.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Sched;

namespace Kernel;

public sealed record KernelOptions
{
    /// <summary>Emulated CPUs, 1..64.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>100, 250 (2.6.20's default), 300 or 1000.</summary>
    public int Hz { get; init; } = 250;

    public PreemptModel Preempt { get; init; } = PreemptModel.None;

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.O1;

    public SchedOptions Sched { get; init; } = new();

    /// <summary>Physical memory: size (default 256 MiB) and architecture (default i386 with PAE).</summary>
    public MemoryOptions Memory { get; init; } = new();

    public ulong Seed { get; init; } = 1;

    public CostTable Costs { get; init; } = CostTable.Default;

    /// <summary>/proc/sys/kernel/pid_max (PID_MAX_DEFAULT 32768; at least 301).</summary>
    public int PidMax { get; init; } = 32768;

    /// <summary>Rethrow an exception thrown by an emulated program from Run (default), else kill the task with SIGABRT.</summary>
    public bool RethrowProgramExceptions { get; init; } = true;

    /// <summary>Throw a KernelBug on a kernel warning such as "scheduling while atomic" instead of recording it.</summary>
    public bool PanicOnOops { get; init; }

    internal MachineOptions ToMachineOptions() => new()
    {
        Cpus = Cpus,
        Hz = Hz,
        Preempt = Preempt,
        Seed = Seed,
        Costs = Costs,
        PidMax = PidMax,
        PidMaxLimit = Memory.Arch == Architecture.I386Pae ? 32768 : 4 * 1024 * 1024,
        RethrowProgramExceptions = RethrowProgramExceptions,
        PanicOnOops = PanicOnOops,
    };

    internal void Validate()
    {
        if (PidMax is < 301 or > 4 * 1024 * 1024)
        {
            throw new ArgumentException($"PidMax must be 301..4194304 (was {PidMax}).");
        }
        ArgumentNullException.ThrowIfNull(Sched);
        ArgumentNullException.ThrowIfNull(Memory);
    }
}
