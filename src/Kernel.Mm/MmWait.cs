// Where a synchronous memory path stopped because Linux would sleep there. Allocation and faults
// keep their synchronous, allocation-free fast paths; when one of them needs to sleep (direct
// reclaim, a page locked for I/O, a contended mmap_sem) it records what it waits for here, undoes
// nothing it cannot redo, and fails. The entry point that began the synchronous section (a fault,
// a memory syscall, read or write) then takes its async slow path: it sleeps for the recorded
// reason (MemorySubsystem.SleepFor) and runs the operation again, as later kernels do with VM_FAULT_RETRY and
// 2.6's AIO does with -EIOCBRETRY. One slot per memory subsystem is enough: a task's host code
// runs synchronously to its next await, so two synchronous sections never interleave.
using Kernel.Core.Locking;

namespace Kernel.Mm;

/// <summary>What a synchronous memory path would have slept for.</summary>
public enum MmWaitKind
{
    None,
    /// <summary>__alloc_pages would enter direct reclaim (try_to_free_pages) for (Gfp, Order).</summary>
    DirectReclaim,
    /// <summary>lock_page / wait_on_page_locked: the page at Pfn is locked (read I/O in flight).</summary>
    PageLocked,
    /// <summary>down_read / down_write: the mmap_sem Sem is held by someone else.</summary>
    MmapSem,
    /// <summary>wait_on_page_writeback: the page at Pfn is being written.</summary>
    PageWriteback,
    /// <summary>balance_dirty_pages: the task dirtied its ratelimit of pages of Mapping and must check the dirty limits.</summary>
    BalanceDirty,
}

/// <summary>One recorded wait: its kind and what it needs.</summary>
public readonly record struct MmWait(MmWaitKind Kind, int Pfn = -1, Gfp Gfp = 0, int Order = 0, KRwSemaphore? Sem = null, Filemap.AddressSpace? Mapping = null)
{
    public static MmWait None => default;

    public bool IsNone => Kind == MmWaitKind.None;
}
