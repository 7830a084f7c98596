// Linux 2.6.20 arch/i386/mm/fault.c do_page_fault, the part every fault shares whoever caused it:
// enter the kernel (the fault's cost), let handle_mm_fault fix the PTE (MmStruct.HandleFault:
// the VMA, stack growth, the access check), count min_flt, fire the tracepoint. What happens to
// a fault that cannot be fixed depends on the mode: a user access gets a signal (the caller,
// UserTask, raises it), a kernel access to user memory (copy_to_user and friends) takes the
// exception-table fixup and returns -EFAULT (Uaccess).
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Arch;

public static class PageFault
{
    /// <summary>
    /// Take a page fault at `addr` for the executing task `p`. A user-mode fault that is fixed drops
    /// back towards user mode (its cost still owed as kernel time); a kernel-mode one stays in the
    /// kernel path that took it.
    /// </summary>
    public static FaultResult DoPageFault(MmStruct mm, TaskStruct p, long addr, bool write, bool userMode)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var m = mm.Node.Machine;
        m.EnterKernel(p, mm.Node.Options.Costs.PageFaultNs);
        long majBefore = mm.Node.PgMajFault;
        var r = mm.HandleFault(addr, write);
        var tp = mm.Node.Tracepoints.PageFault;
        if (tp.Enabled)
        {
            tp.Emit(new PageFaultUser(m.Now, m.ThisCpu.Id, p.Pid, addr, write, r.Name()));
        }
        if (r == FaultResult.Minor)
        {
            // VM_FAULT_MAJOR when the fix needed I/O (a readpage), else VM_FAULT_MINOR.
            if (mm.Node.PgMajFault != majBefore)
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
        return r;
    }
}
