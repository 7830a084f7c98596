// read_lock / write_lock and their unlocks for async kernel paths; see KRwLock.
using Kernel.Core.Locking;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed partial class Machine
{
    public ValueTask ReadLock(KRwLock l) => RwLock(l, write: false);

    public ValueTask WriteLock(KRwLock l) => RwLock(l, write: true);

    private ValueTask RwLock(KRwLock l, bool write)
    {
        ArgumentNullException.ThrowIfNull(l);
        var p = RequireExecuting();
        var cpu = ThisCpu;
        p.SetKernelMode();
        if (Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
        p.SpinlocksHeld++;
        p.DebtNs += Costs.SpinLockNs;
        if (CanTake(l, write))
        {
            TakeRw(l, p, write);
            return default;
        }
        if (l.Writer == p)
        {
            throw new KernelBug($"BUG: rwlock recursion on CPU#{cpu.Id}, {p.Comm}/{p.Pid}, lock {l.Name}", DumpState(p));
        }
        l.Contentions++;
        cpu.SpinningOnRw = l;
        cpu.SpinStart = Now;
        l.Waiters.Add((cpu, write));
        return SuspendExecuting(p);
    }

    private static bool CanTake(KRwLock l, bool write) => write ? l.Writer is null && l.Readers == 0 : l.Writer is null;

    private static void TakeRw(KRwLock l, TaskStruct p, bool write)
    {
        if (write)
        {
            l.Writer = p;
        }
        else
        {
            l.Readers++;
        }
    }

    public ValueTask ReadUnlock(KRwLock l) => RwUnlock(l, write: false);

    public ValueTask WriteUnlock(KRwLock l) => RwUnlock(l, write: true);

    private ValueTask RwUnlock(KRwLock l, bool write)
    {
        ArgumentNullException.ThrowIfNull(l);
        var p = RequireExecuting();
        if (write)
        {
            if (l.Writer != p)
            {
                throw new KernelBug($"BUG: write_unlock of {l.Name} by non-owner {p}", DumpState(p));
            }
            l.Writer = null;
        }
        else
        {
            if (l.Readers == 0)
            {
                throw new KernelBug($"BUG: read_unlock of {l.Name} with no readers", DumpState(p));
            }
            l.Readers--;
        }
        p.SpinlocksHeld--;
        // Hand over in queue order to every waiter that can now get in.
        for (int i = 0; i < l.Waiters.Count;)
        {
            var (cpu, w) = l.Waiters[i];
            if (!CanTake(l, w))
            {
                i++;
                continue;
            }
            l.Waiters.RemoveAt(i);
            long spun = Now - cpu.SpinStart;
            l.SpinNs += spun;
            var wt = cpu.Curr;
            TakeRw(l, wt, w);
            cpu.SpinningOnRw = null;
            wt.SumExecRuntimeNs += spun;
            cpu.BusyNs += spun;
            QueueDispatch(cpu);
        }
        if (Preempt != PreemptModel.Full)
        {
            return default;
        }
        p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        return PreemptCheck(p);
    }
}
