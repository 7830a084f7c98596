// Raw NPTL helpers for tests that drive clone and futexes directly (the Kernel.Nptl library
// wraps the same protocol for programs).
using Kernel.Core.Tasks;
using Kernel.Syscalls;

namespace Kernel.Tests.Support;

public static class Threads
{
    /// <summary>The flags glibc's pthread_create passes (2.6 NPTL).</summary>
    public const CloneFlags Nptl = CloneFlags.CLONE_VM | CloneFlags.CLONE_FS | CloneFlags.CLONE_FILES | CloneFlags.CLONE_SIGHAND
        | CloneFlags.CLONE_THREAD | CloneFlags.CLONE_SYSVSEM | CloneFlags.CLONE_SETTLS | CloneFlags.CLONE_PARENT_SETTID
        | CloneFlags.CLONE_CHILD_CLEARTID;

    /// <summary>pthread_join: wait until the kernel zeroes the tid word (a futex wake at the thread's exit).</summary>
    public static async ValueTask Join(UserTask self, long tidWord)
    {
        int tid;
        while ((tid = await self.Load<int>(tidWord)) != 0)
        {
            await self.Futex(tidWord, FutexOp.FUTEX_WAIT, tid);
        }
    }
}
