// The program's locked instructions on its own memory (i386 lock cmpxchg, xchg, lock xadd): what
// user-space synchronisation (futex-based mutexes, the threads library) is built from. Each is a
// store access that faults like any other and then reads and writes the word in one step, so no
// other task, on any CPU, can come between the read and the write.
using System.Runtime.InteropServices;
using Kernel.Mm;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    /// <summary>lock cmpxchg: store `newval` if the word holds `expected`; returns the value it held.</summary>
    public ValueTask<int> CompareExchange(long addr, int expected, int newval) => Atomic(addr, expected, newval, AtomicOp.CmpXchg);

    /// <summary>xchg: store `value`; returns the value the word held.</summary>
    public ValueTask<int> Exchange(long addr, int value) => Atomic(addr, 0, value, AtomicOp.Xchg);

    /// <summary>lock xadd: add `delta`; returns the value the word held.</summary>
    public ValueTask<int> FetchAdd(long addr, int delta) => Atomic(addr, 0, delta, AtomicOp.XAdd);

    private enum AtomicOp
    {
        CmpXchg,
        Xchg,
        XAdd,
    }

    private ValueTask<int> Atomic(long addr, int expected, int operand, AtomicOp op)
    {
        _m.RequireExecuting(TaskStruct);
        if ((addr & (MemoryLayout.PAGE_SIZE - 1)) > MemoryLayout.PAGE_SIZE - sizeof(int))
        {
            throw new ArgumentException($"atomic access at {addr:x} crosses a page (a split lock is not modelled)", nameof(addr));
        }
        var access = Access(addr, write: true);
        return access.IsCompletedSuccessfully
            ? new ValueTask<int>(Apply(access.Result, addr, expected, operand, op))
            : AtomicSlow(access, addr, expected, operand, op);
    }

    private async ValueTask<int> AtomicSlow(ValueTask<int> access, long addr, int expected, int operand, AtomicOp op) =>
        Apply(await access, addr, expected, operand, op);

    private int Apply(int pfn, long addr, int expected, int operand, AtomicOp op)
    {
        var word = _k.Memory.WritePage(pfn, (int)(addr & (MemoryLayout.PAGE_SIZE - 1)), sizeof(int));
        int old = MemoryMarshal.Read<int>(word);
        int next = op switch
        {
            AtomicOp.CmpXchg => old == expected ? operand : old,
            AtomicOp.Xchg => operand,
            _ => old + operand,
        };
        MemoryMarshal.Write(word, in next);
        return old;
    }
}
