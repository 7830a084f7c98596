// Linux 2.6.20 arch/i386/mm/fault.c do_page_fault, the part every fault shares whoever caused it:
// enter the kernel (the fault's cost), take mmap_sem for reading, let handle_mm_fault fix the PTE
// (MmStruct.HandleFault: the VMA, stack growth, the access check), count min_flt or maj_flt, fire
// the tracepoint. What happens to a fault that cannot be fixed depends on the mode: a user access
// gets a signal (the caller, UserTask, raises it), a kernel access to user memory (copy_to_user
// and friends) takes the exception-table fixup and returns -EFAULT (Uaccess).
//
// Two halves. DoPageFault is synchronous and allocates nothing: it takes mmap_sem with
// down_read_trylock and fixes the fault in place. If the fault must sleep (the semaphore is held
// for writing, an allocation wants direct reclaim, the page is under read I/O) it returns
// FaultResult.Retry with the wait it stopped at; DoPageFaultSlow then sleeps (down_read, the
// reclaim, wait_on_page_locked), holding mmap_sem as 2.6.20 does, and runs handle_mm_fault again.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Arch;

/// <summary>What the sleeping half of a fault needs from its fast path: the wait, and the major-fault count before it.</summary>
public readonly record struct FaultRetry(MmWait Wait, long MajBefore);

public static class PageFault
{
    /// <summary>
    /// Take a page fault at `addr` for the executing task `p`. A user-mode fault that is fixed drops
    /// back towards user mode (its cost still owed as kernel time); a kernel-mode one stays in the
    /// kernel path that took it. A kernel-mode fault runs in its syscall's synchronous section and
    /// leaves any wait there; a user-mode fault that returns Retry gives what its slow path needs in `retry`.
    /// </summary>
    public static FaultResult DoPageFault(MmStruct mm, TaskStruct p, long addr, bool write, bool userMode, out FaultRetry retry)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var mem = mm.Memory;
        var m = mem.Machine;
        m.EnterKernel(p, mem.Options.Costs.PageFaultNs);
        long majBefore = mem.PgMajFault;
        if (userMode)
        {
            mem.BeginSync();
        }
        FaultResult r;
        var sem = mm.MmapSem;
        if (sem.DownReadTrylock())
        {
            r = mm.HandleFault(addr, write);
            sem.UpRead(m);
        }
        else if (mem.DeferWait(new MmWait(MmWaitKind.MmapSem, Sem: sem)))
        {
            r = FaultResult.Retry;
        }
        else
        {
            // No section to sleep in (host code): nothing can hold the semaphore across it.
            r = mm.HandleFault(addr, write);
        }
        var wait = userMode ? mem.EndSync() : MmWait.None;
        if (mm.DirtyBalancePending is { } dirtied)
        {
            // set_page_dirty_balance: the writer throttles in balance_dirty_pages (in the slow path,
            // which sleeps for it and finds the PTE done). A kernel-mode fault (copy_to_user into a
            // shared mapping) does not: its syscall's section has its own way to go on.
            mm.DirtyBalancePending = null;
            if (userMode && r == FaultResult.Minor && wait.IsNone)
            {
                wait = new MmWait(MmWaitKind.BalanceDirty, Mapping: dirtied);
                r = FaultResult.Retry;
            }
        }
        retry = new FaultRetry(wait, majBefore);
        if (r != FaultResult.Retry)
        {
            Finish(mm, p, addr, write, userMode, r, majBefore);
        }
        return r;
    }

    /// <summary>DoPageFault without the wait (kernel-mode callers: the wait stays in their section).</summary>
    public static FaultResult DoPageFault(MmStruct mm, TaskStruct p, long addr, bool write, bool userMode) =>
        DoPageFault(mm, p, addr, write, userMode, out _);

    /// <summary>
    /// The sleeping half of a user-mode fault that returned Retry: down_read(mmap_sem), sleep for
    /// what the fast path stopped at, and run handle_mm_fault again until it ends (never Retry).
    /// </summary>
    public static async ValueTask<FaultResult> DoPageFaultSlow(MmStruct mm, TaskStruct p, long addr, bool write, FaultRetry retry)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var mem = mm.Memory;
        var m = mem.Machine;
        long majBefore = retry.MajBefore;
        var wait = retry.Wait;
        var sem = mm.MmapSem;
        await sem.DownRead(m);
        bool mayDefer = true;
        FaultResult r;
        while (true)
        {
            if (!wait.IsNone && wait.Kind != MmWaitKind.MmapSem)
            {
                mayDefer = await mem.SleepFor(wait);
            }
            mem.BeginSync(mayDefer);
            r = mm.HandleFault(addr, write);
            wait = mem.EndSync();
            if (r != FaultResult.Retry)
            {
                break;
            }
        }
        if (mm.DirtyBalancePending is { } dirtied)
        {
            // The fault that dirtied the page ended here: balance_dirty_pages, still under mmap_sem as in Linux.
            mm.DirtyBalancePending = null;
            if (r == FaultResult.Minor)
            {
                await mem.Writeback.BalanceDirtyPages(dirtied);
            }
        }
        sem.UpRead(m);
        Finish(mm, p, addr, write, userMode: true, r, majBefore);
        return r;
    }

    private static void Finish(MmStruct mm, TaskStruct p, long addr, bool write, bool userMode, FaultResult r, long majBefore)
    {
        var mem = mm.Memory;
        var m = mem.Machine;
        var tp = mem.Tracepoints.PageFault;
        if (tp.Enabled)
        {
            tp.Emit(new PageFaultUser(m.Now, m.ThisCpu.Id, p.Pid, addr, write, r.Name()));
        }
        if (r == FaultResult.Minor)
        {
            // VM_FAULT_MAJOR when the fix needed I/O (a readpage, or a wait for one), else VM_FAULT_MINOR.
            if (mem.PgMajFault != majBefore)
            {
                p.MajFlt++;
            }
            else
            {
                p.MinFlt++;
            }
            if (userMode)
            {
                m.LeaveKernel(p);
            }
        }
    }
}
