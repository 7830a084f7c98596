using FluentAssertions;
using Kernel.Lab.Stress;
using NUnit.Framework;

namespace Kernel.Tests.Stress;

/// <summary>
/// The random-syscall stress run (lab/Kernel.Lab/Stress) on a fixed set of seeds: each is a random
/// kernel configuration and a random program, checked for documented results, data integrity,
/// no hang, no task left behind, no host exception and a clean invariant check. The long run is
/// `dotnet run --project lab/Kernel.Lab -c Release -- stress` (docs/stress.md).
/// </summary>
[Parallelizable(ParallelScope.All)]
public class SyscallStressTests
{
    private static IEnumerable<ulong> Seeds() => Enumerable.Range(1, 48).Select(i => (ulong)i);

    [TestCaseSource(nameof(Seeds))]
    public void ASeedsRandomProgramRunsCleanly(ulong seed)
    {
        var r = SyscallStress.Run(seed, 1500);
        r.Failure.Should().BeNull($"seed {seed} ({r.Config}) must run cleanly");
        r.Syscalls.Should().BeGreaterThan(0);
    }

    [Test]
    public void TheSameSeedReplaysTheSameRun()
    {
        var a = SyscallStress.Run(7, 800);
        var b = SyscallStress.Run(7, 800);
        b.Should().Be(a, "a seed is a reproduction");
    }
}
