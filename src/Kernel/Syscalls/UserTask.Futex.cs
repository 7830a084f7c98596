// sys_futex (Linux 2.6.20 kernel/futex.c do_futex), the commands built so far: FUTEX_WAIT,
// FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE and FUTEX_WAKE_OP, private or shared
// (FUTEX_PRIVATE_FLAG, from 2.6.22, asks for a private key whatever the mapping). The PI
// commands come with the rest of the threads work; until then they answer -ENOSYS, as do_futex
// does for a command it does not know.
using Kernel.Core;

namespace Kernel.Syscalls;

public static class FutexOp
{
    public const int FUTEX_WAIT = 0;
    public const int FUTEX_WAKE = 1;
    public const int FUTEX_REQUEUE = 3;
    public const int FUTEX_CMP_REQUEUE = 4;
    public const int FUTEX_WAKE_OP = 5;
    public const int FUTEX_PRIVATE_FLAG = 128;
    public const int FUTEX_CMD_MASK = ~FUTEX_PRIVATE_FLAG;
}

public sealed partial class UserTask
{
    /// <summary>
    /// futex(uaddr, op, val, timeout, uaddr2, val3): FUTEX_WAIT sleeps while *uaddr == val
    /// (timeout in ns, relative; negative for none); FUTEX_WAKE wakes up to val waiters and returns
    /// how many; FUTEX_REQUEUE and FUTEX_CMP_REQUEUE (compared with val3) wake val and move up to
    /// val2 = `timeoutNs` (the timeout argument carries the count, as in Linux) to uaddr2;
    /// FUTEX_WAKE_OP applies the encoded op val3 to *uaddr2 and wakes val on uaddr and, if the old
    /// value passes, val2 on uaddr2.
    /// </summary>
    public async ValueTask<long> Futex(long uaddr, int op, int val, long timeoutNs = -1, long uaddr2 = 0, int val3 = 0)
    {
        Enter();
        var mm = MmOrThrow();
        bool fshared = (op & FutexOp.FUTEX_PRIVATE_FLAG) == 0;
        long r = (op & FutexOp.FUTEX_CMD_MASK) switch
        {
            FutexOp.FUTEX_WAIT => await _k.Futexes.Wait(mm, uaddr, fshared, val, timeoutNs),
            FutexOp.FUTEX_WAKE => _k.Futexes.Wake(mm, uaddr, fshared, val),
            FutexOp.FUTEX_REQUEUE => _k.Futexes.Requeue(mm, uaddr, uaddr2, fshared, val, (int)timeoutNs, cmpval: null),
            FutexOp.FUTEX_CMP_REQUEUE => _k.Futexes.Requeue(mm, uaddr, uaddr2, fshared, val, (int)timeoutNs, cmpval: val3),
            FutexOp.FUTEX_WAKE_OP => _k.Futexes.WakeOp(mm, uaddr, uaddr2, fshared, val, (int)timeoutNs, val3),
            _ => Errno.ENOSYS.Ret(),
        };
        return await Return(r);
    }
}
