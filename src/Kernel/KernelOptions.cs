// Everything that shapes one emulated kernel. Same options + same seed + same programs = the
// same trace, bit for bit.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Sched;

namespace Kernel;

public sealed record KernelOptions
{
    /// <summary>
    /// The machine: CPUs, HZ, preemption model, seed, costs, pid_max, and what a program's exception
    /// or a kernel warning does. The shortcuts below (Cpus, Hz, ...) read and set its fields, so
    /// `new KernelOptions { Cpus = 2 }` and `new KernelOptions { Machine = new() { Cpus = 2 } }` agree.
    /// </summary>
    public MachineOptions Machine { get; init; } = new();

    /// <summary>Emulated CPUs, 1..64 (Machine.Cpus).</summary>
    public int Cpus { get => Machine.Cpus; init => Machine = Machine with { Cpus = value }; }

    /// <summary>100, 250 (2.6.20's default), 300 or 1000 (Machine.Hz).</summary>
    public int Hz { get => Machine.Hz; init => Machine = Machine with { Hz = value }; }

    /// <summary>Kernel preemption model (Machine.Preempt).</summary>
    public PreemptModel Preempt { get => Machine.Preempt; init => Machine = Machine with { Preempt = value }; }

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.O1;

    public SchedOptions Sched { get; init; } = new();

    /// <summary>Physical memory: size (default 256 MiB) and architecture (default i386 with PAE).</summary>
    public MemoryOptions Memory { get; init; } = new();

    /// <summary>Seed of the machine's random source (Machine.Seed).</summary>
    public ulong Seed { get => Machine.Seed; init => Machine = Machine with { Seed = value }; }

    /// <summary>The core costs (Machine.Costs); the memory costs are in Memory.Costs.</summary>
    public CostTable Costs { get => Machine.Costs; init => Machine = Machine with { Costs = value }; }

    /// <summary>/proc/sys/kernel/pid_max (PID_MAX_DEFAULT 32768; at least 301) (Machine.PidMax).</summary>
    public int PidMax { get => Machine.PidMax; init => Machine = Machine with { PidMax = value }; }

    /// <summary>Rethrow an exception thrown by an emulated program from Run (default), else kill the task with SIGABRT.</summary>
    public bool RethrowProgramExceptions { get => Machine.RethrowProgramExceptions; init => Machine = Machine with { RethrowProgramExceptions = value }; }

    /// <summary>Throw a KernelBug on a kernel warning such as "scheduling while atomic" instead of recording it.</summary>
    public bool PanicOnOops { get => Machine.PanicOnOops; init => Machine = Machine with { PanicOnOops = value }; }

    /// <summary>The machine options the kernel boots with: PID_MAX_LIMIT follows the architecture.</summary>
    internal MachineOptions BootMachineOptions() =>
        Machine with { PidMaxLimit = Memory.Arch == Architecture.I386Pae ? 32768 : 4 * 1024 * 1024 };

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Machine);
        if (PidMax is < 301 or > 4 * 1024 * 1024)
        {
            throw new ArgumentException($"PidMax must be 301..4194304 (was {PidMax}).");
        }
        ArgumentNullException.ThrowIfNull(Sched);
        ArgumentNullException.ThrowIfNull(Memory);
    }
}
