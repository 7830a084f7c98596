// A violated kernel invariant: the emulator's equivalent of BUG() plus an oops dump.
// Thrown to the host only for states the emulated kernel cannot continue from; recoverable
// Linux warnings ("scheduling while atomic") are recorded as oopses and the kernel continues.
namespace Kernel.Core;

public sealed class KernelBug : Exception
{
    public KernelBug(string message, string dump) : base(message + Environment.NewLine + dump)
    {
        Dump = dump;
    }

    public KernelBug(string message) : base(message)
    {
        Dump = string.Empty;
    }

    /// <summary>Task, CPU and lock state at the moment of the bug, in an oops-like text form.</summary>
    public string Dump { get; }
}

/// <summary>One recorded kernel warning (what Linux prints with a stack dump and survives).</summary>
public sealed record Oops(long TimeNs, int Cpu, string Message, string Dump);
