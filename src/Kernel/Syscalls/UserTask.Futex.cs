// sys_futex (Linux 2.6.20 kernel/futex.c do_futex) with every command of 2.6.20 but FUTEX_FD:
// FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_LOCK_PI,
// FUTEX_UNLOCK_PI and FUTEX_TRYLOCK_PI; plus two later additions programs of the 2.6 line use:
// FUTEX_PRIVATE_FLAG (2.6.22: a private key whatever the mapping) and FUTEX_WAIT_BITSET /
// FUTEX_WAKE_BITSET (2.6.25: absolute timeouts, wake-ups by bit). set_robust_list and
// get_robust_list (2.6.17) register the list exit walks.
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Futex;
using Kernel.Mm.Arch;
using Kernel.Process;

namespace Kernel.Syscalls;

public static class FutexOp
{
    public const int FUTEX_WAIT = 0;
    public const int FUTEX_WAKE = 1;
    /// <summary>FUTEX_FD was removed in 2.6.26 and is not modelled: -ENOSYS.</summary>
    public const int FUTEX_FD = 2;
    public const int FUTEX_REQUEUE = 3;
    public const int FUTEX_CMP_REQUEUE = 4;
    public const int FUTEX_WAKE_OP = 5;
    public const int FUTEX_LOCK_PI = 6;
    public const int FUTEX_UNLOCK_PI = 7;
    public const int FUTEX_TRYLOCK_PI = 8;
    public const int FUTEX_WAIT_BITSET = 9;
    public const int FUTEX_WAKE_BITSET = 10;
    public const int FUTEX_PRIVATE_FLAG = 128;
    public const int FUTEX_CMD_MASK = ~FUTEX_PRIVATE_FLAG;

    /// <summary>The timeout argument's NULL: no timeout.</summary>
    public const long NoTimeout = long.MinValue;

    /// <summary>FUTEX_BITSET_MATCH_ANY.</summary>
    public const int FUTEX_BITSET_MATCH_ANY = FutexTable.FUTEX_BITSET_MATCH_ANY;

    /// <summary>The word bits of PI and robust futexes.</summary>
    public const int FUTEX_WAITERS = FutexTable.FUTEX_WAITERS;
    public const int FUTEX_OWNER_DIED = FutexTable.FUTEX_OWNER_DIED;
    public const int FUTEX_TID_MASK = FutexTable.FUTEX_TID_MASK;
}

public sealed partial class UserTask
{
    /// <summary>
    /// futex(uaddr, op, val, timeout, uaddr2, val3). FUTEX_WAIT sleeps while *uaddr == val
    /// (`timeoutNs` relative); FUTEX_WAKE wakes up to val waiters and returns how many;
    /// FUTEX_REQUEUE and FUTEX_CMP_REQUEUE (compared with val3) wake val and move up to val2 =
    /// `timeoutNs` (the timeout argument carries the count, as in Linux) to uaddr2; FUTEX_WAKE_OP
    /// applies the encoded op val3 to *uaddr2 and wakes val on uaddr and, if the old value passes,
    /// val2 on uaddr2. FUTEX_LOCK_PI (absolute `timeoutNs` on the simulated clock),
    /// FUTEX_TRYLOCK_PI and FUTEX_UNLOCK_PI take and release a PI futex whose word holds the owner's
    /// TID. FUTEX_WAIT_BITSET (absolute timeout) and FUTEX_WAKE_BITSET match waiters by the
    /// bitset val3. A timeout of <see cref="FutexOp.NoTimeout"/> is the NULL pointer; any other
    /// negative one is -EINVAL, as an invalid timespec is.
    /// </summary>
    public ValueTask<long> Futex(long uaddr, int op, int val, long timeoutNs = FutexOp.NoTimeout, long uaddr2 = 0, int val3 = 0)
    {
        Enter();
        FutexCalls++;
        var mm = MmOrThrow();
        var f = _k.Futexes;
        bool fshared = (op & FutexOp.FUTEX_PRIVATE_FLAG) == 0;
        int cmd = op & FutexOp.FUTEX_CMD_MASK;
        bool timed = cmd is FutexOp.FUTEX_WAIT or FutexOp.FUTEX_LOCK_PI or FutexOp.FUTEX_WAIT_BITSET;
        long timeout = -1;
        if (timed && timeoutNs != FutexOp.NoTimeout)
        {
            if (timeoutNs < 0)
            {
                return Return(Errno.EINVAL.Ret()); // timespec_valid
            }
            timeout = timeoutNs;
        }
        int val2 = (int)timeoutNs; // REQUEUE, CMP_REQUEUE, WAKE_OP: the count travels in the timeout argument
        var r = cmd switch
        {
            FutexOp.FUTEX_WAIT => f.Wait(mm, uaddr, fshared, val, timeout),
            FutexOp.FUTEX_WAKE => new ValueTask<long>(f.Wake(mm, uaddr, fshared, val)),
            FutexOp.FUTEX_REQUEUE => new ValueTask<long>(f.Requeue(mm, uaddr, uaddr2, fshared, val, val2, cmpval: null)),
            FutexOp.FUTEX_CMP_REQUEUE => new ValueTask<long>(f.Requeue(mm, uaddr, uaddr2, fshared, val, val2, cmpval: val3)),
            FutexOp.FUTEX_WAKE_OP => new ValueTask<long>(f.WakeOp(mm, uaddr, uaddr2, fshared, val, val2, val3)),
            FutexOp.FUTEX_LOCK_PI or FutexOp.FUTEX_TRYLOCK_PI => LockPi(mm, uaddr, fshared, timeout, trylock: cmd == FutexOp.FUTEX_TRYLOCK_PI),
            FutexOp.FUTEX_UNLOCK_PI => new ValueTask<long>(f.UnlockPi(mm, uaddr, fshared)),
            FutexOp.FUTEX_WAIT_BITSET => f.Wait(mm, uaddr, fshared, val, timeout, val3, absolute: true),
            FutexOp.FUTEX_WAKE_BITSET => new ValueTask<long>(f.Wake(mm, uaddr, fshared, val, val3)),
            _ => new ValueTask<long>(Errno.ENOSYS.Ret()),
        };
        // The common cases (a wake, a wait whose value moved on) finish without sleeping: return
        // without building an async frame.
        return r.IsCompletedSuccessfully ? Return(r.Result) : FutexSlow(r);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> FutexSlow(ValueTask<long> sleeping) => await Return(await sleeping);

    /// <summary>FUTEX_LOCK_PI's -ERESTARTNOINTR: deliver the signal (a fatal one ends here), then try again.</summary>
    private async ValueTask<long> LockPi(Kernel.Mm.Memory.MmStruct mm, long uaddr, bool fshared, long timeout, bool trylock)
    {
        while (true)
        {
            long r = await _k.Futexes.LockPi(mm, uaddr, fshared, timeout, trylock);
            if (r != Errno.ERESTARTNOINTR.Ret())
            {
                return r;
            }
            await Return(r);
        }
    }

    /// <summary>The futex syscalls this thread has made (what `strace -c -e futex` counts).</summary>
    public long FutexCalls { get; private set; }

    /// <summary>sizeof(struct robust_list_head) on i386: list.next, futex_offset, list_op_pending.</summary>
    public const int RobustListHeadSize = 12;

    /// <summary>set_robust_list(head, len): -EINVAL unless len is the head's size.</summary>
    public long SetRobustList(long head, long len)
    {
        var p = Enter();
        if (len != RobustListHeadSize)
        {
            return Errno.EINVAL.Ret();
        }
        ProcessState.Of(p).RobustList = head;
        return 0;
    }

    /// <summary>
    /// get_robust_list(pid, &amp;head, &amp;len): store the task's list head and the head size at
    /// the two user addresses. -ESRCH for no such task, -EPERM for another user's, -EFAULT.
    /// </summary>
    public long GetRobustList(int pid, long headPtr, long lenPtr)
    {
        var p = Enter();
        var t = pid == 0 ? p : _k.FindTask(pid);
        if (t is null || t.ProcessData is null)
        {
            return Errno.ESRCH.Ret();
        }
        if (p.Euid != t.Euid && p.Euid != t.Uid && p.Euid != 0)
        {
            return Errno.EPERM.Ret(); // CAP_SYS_PTRACE: root
        }
        var mm = MmOrThrow();
        if (Uaccess.PutUser(mm, lenPtr, RobustListHeadSize) < 0)
        {
            return Errno.EFAULT.Ret();
        }
        return Uaccess.PutUser(mm, headPtr, (int)ProcessState.Of(t).RobustList);
    }
}
