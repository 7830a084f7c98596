// The seam through which a task reaches its address space: task_struct's `mm` pointer, typed so
// that Core and the schedulers can compare and test it (goodness()'s p->mm == this_mm,
// recalc_task_prio's "kernel threads have no mm") without knowing mm_struct. Kernel.Mm's
// MmStruct is the only implementation; MmStruct.Of(task) casts back.
namespace Kernel.Core.Tasks;

/// <summary>What Core knows of an mm_struct: that it exists and how many tasks use it.</summary>
public abstract class MmContext
{
    /// <summary>mm_users: tasks (threads) sharing this address space.</summary>
    public int Users { get; protected set; } = 1;
}
