// A fluent builder giving each test a fresh kernel, and helpers that end every scenario with the
// invariant checker.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Sched;

namespace Kernel.Tests.Support;

public sealed class KernelBuilder
{
    private KernelOptions _o = new() { Costs = CostTable.Default };

    public static KernelBuilder New() => new();

    public KernelBuilder Cpus(int n)
    {
        _o = _o with { Cpus = n };
        return this;
    }

    public KernelBuilder Hz(int hz)
    {
        _o = _o with { Hz = hz };
        return this;
    }

    public KernelBuilder Preempt(PreemptModel m)
    {
        _o = _o with { Preempt = m };
        return this;
    }

    public KernelBuilder Scheduler(SchedulerKind k)
    {
        _o = _o with { Scheduler = k };
        return this;
    }

    public KernelBuilder Seed(ulong s)
    {
        _o = _o with { Seed = s };
        return this;
    }

    public KernelBuilder FreeCosts()
    {
        _o = _o with { Costs = CostTable.Free };
        return this;
    }

    public KernelBuilder With(Func<KernelOptions, KernelOptions> f)
    {
        _o = f(_o);
        return this;
    }

    public KernelBuilder Memory(long bytes)
    {
        _o = _o with { Memory = new Kernel.Mm.MemoryOptions { MemoryBytes = bytes } };
        return this;
    }

    public LinuxKernel Boot() => LinuxKernel.Boot(_o);

    /// <summary>Boot and enter host context, for tests that call kernel functions directly from the test.</summary>
    public LinuxKernel BootForHostCalls()
    {
        var k = Boot();
        k.Machine.EnterHostContext();
        return k;
    }

    /// <summary>Boot, run one program to completion, check it exited 0 and the invariants hold.</summary>
    public LinuxKernel RunToExit(UserProgram body, string because = "the program should finish normally")
    {
        var k = Boot();
        var t = k.Spawn("prog", body);
        if (!k.RunUntilIdle())
        {
            throw new InvalidOperationException("the kernel did not go idle");
        }
        if (t.ExitCode != 0)
        {
            throw new InvalidOperationException($"exit status 0x{t.ExitCode:x}: {because}");
        }
        k.AssertInvariants();
        return k;
    }
}

public static class Ms
{
    public const long NS = 1_000_000;

    public static long Of(double ms) => (long)(ms * NS);
}
