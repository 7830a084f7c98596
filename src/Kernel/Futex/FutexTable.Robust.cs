// Linux 2.6.20 kernel/futex.c exit_robust_list and handle_futex_death: a thread that dies holding
// robust mutexes has them marked FUTEX_OWNER_DIED, and one waiter of each is woken, so the next
// locker learns that the data it protects may be inconsistent. The list lives in user memory
// (glibc keeps it; set_robust_list registered its head), so it is walked carefully: any fault or
// a list longer than ROBUST_LIST_LIMIT ends the walk quietly. i386 layout: struct robust_list is
// one pointer; the head is { list.next, futex_offset, list_op_pending }, and bit 0 of a pointer
// marks a PI futex.
using Kernel.Core.Tasks;
using Kernel.Mm.Arch;
using Kernel.Mm.Memory;

namespace Kernel.Futex;

public sealed partial class FutexTable
{
    /// <summary>ROBUST_LIST_LIMIT: the most entries walked, against circular lists.</summary>
    public const int ROBUST_LIST_LIMIT = 2048;

    /// <summary>exit_robust_list: mark every futex of the list (and the pending one) that `curr` owns.</summary>
    internal void ExitRobustList(MmStruct mm, TaskStruct curr, long head)
    {
        if (!FetchRobustEntry(mm, head, out long entry, out bool pi)
            || Uaccess.GetUser(mm, head + 4, out int futexOffset) < 0
            || !FetchRobustEntry(mm, head + 8, out long pending, out bool pip))
        {
            return;
        }
        if (pending != 0)
        {
            HandleFutexDeath(mm, pending + futexOffset, curr, pip);
        }
        for (int limit = ROBUST_LIST_LIMIT; entry != head;)
        {
            // A lock being added may be on the list already: do not mark it twice.
            if (entry != pending && !HandleFutexDeath(mm, entry + futexOffset, curr, pi))
            {
                return;
            }
            if (!FetchRobustEntry(mm, entry, out entry, out pi) || --limit == 0)
            {
                return;
            }
        }
    }

    /// <summary>fetch_robust_entry: a user pointer, with bit 0 telling a PI futex.</summary>
    private static bool FetchRobustEntry(MmStruct mm, long addr, out long entry, out bool pi)
    {
        entry = 0;
        pi = false;
        if (Uaccess.GetUser(mm, addr, out uint u) < 0)
        {
            return false;
        }
        entry = u & ~1u;
        pi = (u & 1) != 0;
        return true;
    }

    /// <summary>
    /// handle_futex_death: if the word names `curr`, set FUTEX_OWNER_DIED (keeping FUTEX_WAITERS)
    /// and, for a non-PI futex with waiters, wake one (a PI futex's waiters are woken by
    /// exit_pi_state_list). False when the word cannot be read.
    /// </summary>
    private bool HandleFutexDeath(MmStruct mm, long uaddr, TaskStruct curr, bool pi)
    {
        if (Uaccess.GetUser(mm, uaddr, out int uval) < 0)
        {
            return false;
        }
        if ((uval & FUTEX_TID_MASK) != curr.Pid)
        {
            return true;
        }
        int mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if (Uaccess.CmpXchgUser(mm, uaddr, uval, mval, out _) < 0)
        {
            return false;
        }
        if (!pi && (uval & FUTEX_WAITERS) != 0)
        {
            Wake(mm, uaddr, fshared: true, 1);
        }
        return true;
    }
}
