// pthread_create and pthread_join as NPTL does them on 2.6: clone with CLONE_VM, CLONE_FS,
// CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_PARENT_SETTID and
// CLONE_CHILD_CLEARTID on a tid word in the thread descriptor; join waits on that word until the
// kernel zeroes it and wakes it at the thread's exit (mm_release). Joining costs no syscall if
// the thread is already gone, one FUTEX_WAIT per sleep otherwise.
using System.Runtime.CompilerServices;
using Kernel.Core.Tasks;
using Kernel.Syscalls;

namespace Kernel.Nptl;

/// <summary>pthread_t: the new thread's id, the address of its tid word, and the heap the word came from.</summary>
public readonly record struct PthreadT(int Tid, long TidWord, UserHeap Heap);

public static class Pthread
{
    /// <summary>The flags glibc 2.3+ passes to clone for pthread_create.</summary>
    public const CloneFlags CloneFlags = Kernel.Core.Tasks.CloneFlags.CLONE_VM | Kernel.Core.Tasks.CloneFlags.CLONE_FS
        | Kernel.Core.Tasks.CloneFlags.CLONE_FILES | Kernel.Core.Tasks.CloneFlags.CLONE_SIGHAND | Kernel.Core.Tasks.CloneFlags.CLONE_THREAD
        | Kernel.Core.Tasks.CloneFlags.CLONE_SYSVSEM | Kernel.Core.Tasks.CloneFlags.CLONE_PARENT_SETTID
        | Kernel.Core.Tasks.CloneFlags.CLONE_CHILD_CLEARTID;

    /// <summary>pthread_create: start `body` in a new thread; its tid word comes from `heap`. Throws on a clone error.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<PthreadT> Create(UserTask self, UserHeap heap, UserProgram body)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(heap);
        long word = heap.AllocTidWord();
        long tid = await self.Clone(CloneFlags, async t =>
        {
            await body(t);
            await t.Exit(0); // returning from the start routine is pthread_exit: this thread only
        }, parentTid: word, childTid: word);
        if (tid < 0)
        {
            throw new InvalidOperationException($"clone failed: {tid}");
        }
        return new PthreadT((int)tid, word, heap);
    }

    /// <summary>pthread_join: sleep until the thread's tid word is 0; the word then goes back to the heap's cache.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public static async ValueTask Join(UserTask self, PthreadT thread)
    {
        ArgumentNullException.ThrowIfNull(self);
        int tid;
        while ((tid = await self.Load<int>(thread.TidWord)) != 0)
        {
            await self.Futex(thread.TidWord, FutexOp.FUTEX_WAIT, tid);
        }
        thread.Heap.ReleaseTidWord(thread.TidWord);
    }
}
