// How to build one emulated machine. Everything that changes behaviour is here, so the same
// options and seed always give the same run.
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed record MachineOptions
{
    /// <summary>Emulated CPUs, 1..64.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>Timer interrupt rate: 100, 250 (2.6.20's default), 300 or 1000.</summary>
    public int Hz { get; init; } = 250;

    /// <summary>Kernel preemption model (2.6.20's Kconfig default is None).</summary>
    public PreemptModel Preempt { get; init; } = PreemptModel.None;

    /// <summary>Seed of the machine's single random source.</summary>
    public ulong Seed { get; init; } = 1;

    public CostTable Costs { get; init; } = CostTable.Default;

    /// <summary>/proc/sys/kernel/pid_max at boot (PID_MAX_DEFAULT 32768).</summary>
    public int PidMax { get; init; } = 32768;

    /// <summary>PID_MAX_LIMIT: how far pid_max may be raised (32768 on i386, 4 M on 64-bit).</summary>
    public int PidMaxLimit { get; init; } = 32768;

    /// <summary>Turn recorded kernel warnings ("scheduling while atomic") into a thrown KernelBug.</summary>
    public bool PanicOnOops { get; init; }

    /// <summary>
    /// When an emulated program throws, stop the run and rethrow to the host (the default: a test's
    /// assertion inside a program should fail the test). Otherwise the task is killed with SIGABRT.
    /// </summary>
    public bool RethrowProgramExceptions { get; init; } = true;

    /// <summary>
    /// How much kernel time a task may owe before a syscall's return waits for it to be paid. A
    /// run of syscalls that do not sleep is charged as debt and the task's host code goes on;
    /// its CPU's clock then runs ahead of the machine's by what it owes, and another CPU taking a
    /// lock it took would wait for that future. Paying at this bound keeps CPUs' clocks within it
    /// of each other (a lock's false contention at most this long). The default is above one
    /// fork's cost (25 us), so a fork alone does not park. 0 pays after every syscall.
    /// </summary>
    public long MaxOwedNs { get; init; } = 50_000;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxOwedNs);
        if (Cpus is < 1 or > CpuMask.NR_CPUS)
        {
            throw new ArgumentException($"Cpus must be 1..{CpuMask.NR_CPUS} (was {Cpus}).");
        }
        _ = new Time.Hz(Hz);
        ArgumentNullException.ThrowIfNull(Costs);
        Costs.Validate();
    }
}

/// <summary>An emulated program threw: the exception is the inner one, the task is named.</summary>
public sealed class EmulatedProgramException : Exception
{
    public EmulatedProgramException(string message, Exception inner) : base(message, inner)
    {
    }
}
