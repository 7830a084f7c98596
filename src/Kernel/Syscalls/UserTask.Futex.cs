// sys_futex (Linux 2.6.20 kernel/futex.c do_futex), the operations built so far: FUTEX_WAIT and
// FUTEX_WAKE, private or shared (FUTEX_PRIVATE_FLAG, from 2.6.22, asks for a private key whatever
// the mapping). The other commands of 2.6.20 come with the rest of the threads work; until then
// they answer -ENOSYS, as do_futex does for a command it does not know.
using Kernel.Core;

namespace Kernel.Syscalls;

public static class FutexOp
{
    public const int FUTEX_WAIT = 0;
    public const int FUTEX_WAKE = 1;
    public const int FUTEX_PRIVATE_FLAG = 128;
    public const int FUTEX_CMD_MASK = ~FUTEX_PRIVATE_FLAG;
}

public sealed partial class UserTask
{
    /// <summary>
    /// futex(uaddr, op, val, timeout): FUTEX_WAIT sleeps while *uaddr == val (timeout in ns,
    /// relative; negative for none); FUTEX_WAKE wakes up to val waiters and returns how many.
    /// </summary>
    public async ValueTask<long> Futex(long uaddr, int op, int val, long timeoutNs = -1)
    {
        Enter();
        var mm = MmOrThrow();
        bool fshared = (op & FutexOp.FUTEX_PRIVATE_FLAG) == 0;
        long r = (op & FutexOp.FUTEX_CMD_MASK) switch
        {
            FutexOp.FUTEX_WAIT => await _k.Futexes.Wait(mm, uaddr, fshared, val, timeoutNs),
            FutexOp.FUTEX_WAKE => _k.Futexes.Wake(mm, uaddr, fshared, val),
            _ => Errno.ENOSYS.Ret(),
        };
        return await Return(r);
    }
}
