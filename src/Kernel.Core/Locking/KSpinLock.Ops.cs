// spin_lock / spin_unlock for async kernel paths (include/linux/spinlock.h, kernel/spinlock.c).
// spin_lock = preempt_disable + take the lock; spin_unlock = release + preempt_enable, so unlock
// is a preemption point under CONFIG_PREEMPT. A contended CPU spins on the simulated clock and
// the lock is handed to waiting CPUs in FIFO order when released.
// Deviation: 2.6.20 with CONFIG_PREEMPT spins with preemption enabled (BUILD_LOCK_OPS); here a
// spinning CPU is never preempted. See docs/deviations.md.
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed partial class KSpinLock
{
    /// <summary>spin_lock (or spin_lock_irq with irqsOff): completes when the lock is held.</summary>
    public ValueTask Lock(Machine m, bool irqsOff = false)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        var cpu = m.ThisCpu;
        p.SetKernelMode();
        if (irqsOff)
        {
            p.IrqsDisabled = true;
        }
        if (m.Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
        p.SpinlocksHeld++;
        p.DebtNs += m.Costs.SpinLockNs;
        if (OwnerCpu is null)
        {
            Take(cpu, p, m.Now, 0);
            return default;
        }
        if (OwnerCpu == cpu)
        {
            throw new KernelBug($"BUG: spinlock recursion on CPU#{cpu.Id}, {p.Comm}/{p.Pid}, lock {Name}", m.DumpState(p));
        }
        cpu.SpinningOn = this;
        cpu.SpinStart = m.Now;
        Waiters.Enqueue(cpu);
        return m.SuspendExecuting(p);
    }

    /// <summary>spin_trylock: true if taken; never spins.</summary>
    public bool TryLock(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        if (OwnerCpu is not null)
        {
            return false;
        }
        p.SetKernelMode();
        if (m.Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
        p.SpinlocksHeld++;
        p.DebtNs += m.Costs.SpinLockNs;
        Take(m.ThisCpu, p, m.Now, 0);
        return true;
    }

    /// <summary>spin_unlock (spin_unlock_irq with irqsOn): release, then preempt_enable.</summary>
    public ValueTask Unlock(Machine m, bool irqsOn = false)
    {
        ArgumentNullException.ThrowIfNull(m);
        var p = m.RequireExecuting();
        if (OwnerTask != p)
        {
            throw new KernelBug($"BUG: spinlock wrong owner on CPU#{m.ThisCpu.Id}, {p.Comm}/{p.Pid}, lock {Name} (owner {OwnerTask})", m.DumpState(p));
        }
        Release(m.Now);
        p.SpinlocksHeld--;
        if (Waiters.TryDequeue(out var waiter))
        {
            long spun = m.Now - waiter.SpinStart;
            var wt = waiter.Curr;
            Take(waiter, wt, m.Now, spun);
            waiter.SpinningOn = null;
            wt.SumExecRuntimeNs += spun;
            waiter.BusyNs += spun;
            m.QueueDispatch(waiter);
        }
        if (irqsOn)
        {
            // spin_unlock_irq: the lock is released, then interrupts come back (what arrived
            // meanwhile is taken now), then preempt_enable.
            m.IrqsBackOn(m.ThisCpu, p);
        }
        if (m.Preempt != PreemptModel.Full)
        {
            return default;
        }
        p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        return m.PreemptCheck(p);
    }
}
