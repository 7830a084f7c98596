// read_lock / write_lock and their unlocks for async kernel paths; see KRwLock.
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed partial class KRwLock
{
    public ValueTask ReadLock(Machine m) => RwLock(m, write: false);

    public ValueTask WriteLock(Machine m) => RwLock(m, write: true);

    private ValueTask RwLock(Machine m, bool write)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        var cpu = m.ThisCpu;
        p.SetKernelMode();
        if (m.Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
        p.SpinlocksHeld++;
        p.DebtNs += m.Costs.SpinLockNs;
        if (CanTake(write))
        {
            TakeRw(p, write);
            return default;
        }
        if (Writer == p)
        {
            throw new KernelBug($"BUG: rwlock recursion on CPU#{cpu.Id}, {p.Comm}/{p.Pid}, lock {Name}", m.DumpState(p));
        }
        Contentions++;
        cpu.SpinningOnRw = this;
        cpu.SpinStart = m.Now;
        Waiters.Add((cpu, write));
        return m.SuspendExecuting(p);
    }

    private bool CanTake(bool write) => write ? Writer is null && Readers == 0 : Writer is null;

    private void TakeRw(TaskStruct p, bool write)
    {
        if (write)
        {
            Writer = p;
        }
        else
        {
            Readers++;
        }
    }

    public ValueTask ReadUnlock(Machine m) => RwUnlock(m, write: false);

    public ValueTask WriteUnlock(Machine m) => RwUnlock(m, write: true);

    private ValueTask RwUnlock(Machine m, bool write)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        if (write)
        {
            if (Writer != p)
            {
                throw new KernelBug($"BUG: write_unlock of {Name} by non-owner {p}", m.DumpState(p));
            }
            Writer = null;
        }
        else
        {
            if (Readers == 0)
            {
                throw new KernelBug($"BUG: read_unlock of {Name} with no readers", m.DumpState(p));
            }
            Readers--;
        }
        p.SpinlocksHeld--;
        // Hand over in queue order to every waiter that can now get in.
        for (int i = 0; i < Waiters.Count;)
        {
            var (cpu, w) = Waiters[i];
            if (!CanTake(w))
            {
                i++;
                continue;
            }
            Waiters.RemoveAt(i);
            long spun = m.Now - cpu.SpinStart;
            SpinNs += spun;
            var wt = cpu.Curr;
            TakeRw(wt, w);
            cpu.SpinningOnRw = null;
            wt.SumExecRuntimeNs += spun;
            cpu.BusyNs += spun;
            m.QueueDispatch(cpu);
        }
        if (m.Preempt != PreemptModel.Full)
        {
            return default;
        }
        p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        return m.PreemptCheck(p);
    }
}
