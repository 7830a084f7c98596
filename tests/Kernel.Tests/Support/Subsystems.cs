// Builders for one subsystem on its own, without a LinuxKernel: a bare machine (clock, CPUs,
// the scheduler) and the memory subsystem on it. Unit tests of the buddy allocator, slab or a
// future elevator with a fake device use these instead of booting a whole kernel.
using Kernel.Core;
using Kernel.Mm;
using Kernel.Sched.O1;

namespace Kernel.Tests.Support;

public static class Subsystems
{
    /// <summary>A machine with the O(1) scheduler and no process layer; host calls run as on CPU 0.</summary>
    public static Machine MachineAlone(int cpus = 1, int hz = 250, CostTable? costs = null)
    {
        var m = new Machine(new MachineOptions { Cpus = cpus, Hz = hz, Costs = costs ?? CostTable.Default }, new O1Scheduler());
        m.EnterHostContext();
        return m;
    }

    /// <summary>mem_map, zones, the buddy allocator and slab on a bare machine.</summary>
    public static MemorySubsystem MemoryAlone(long bytes = 64 * MemoryLayout.MiB, Architecture arch = Architecture.I386Pae, int cpus = 1)
    {
        var m = MachineAlone(cpus);
        return new MemorySubsystem(m, new MemoryOptions { MemoryBytes = bytes, Arch = arch });
    }
}
