// The seam through which a task reaches its address space: task_struct's `mm` pointer, typed so
// that Core and the schedulers can compare and test it (goodness()'s p->mm == this_mm,
// recalc_task_prio's "kernel threads have no mm") without knowing mm_struct. Kernel.Mm's
// MmStruct is the only implementation; MmStruct.Of(task) casts back.
namespace Kernel.Core.Tasks;

/// <summary>What Core knows of an mm_struct: that it exists, how many tasks use it, and its mmap_sem.</summary>
public abstract class MmContext
{
    /// <summary>mm_users: tasks (threads) sharing this address space.</summary>
    public int Users { get; protected set; } = 1;

    /// <summary>
    /// mmap_sem: guards the VMA tree. Faults take it for reading, mmap/munmap/mprotect/brk for
    /// writing, once their paths can sleep; today every mm path is one atomic host step.
    /// </summary>
    public Locking.KRwSemaphore MmapSem { get; } = new("mmap_sem");
}
