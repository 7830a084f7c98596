// spin_lock / spin_unlock for async kernel paths (include/linux/spinlock.h, kernel/spinlock.c).
// spin_lock = preempt_disable + take the lock; spin_unlock = release + preempt_enable, so unlock
// is a preemption point under CONFIG_PREEMPT. A contended CPU spins on the simulated clock and
// the lock is handed to waiting CPUs in FIFO order when released.
// Deviation: 2.6.20 with CONFIG_PREEMPT spins with preemption enabled (BUILD_LOCK_OPS); here a
// spinning CPU is never preempted. See docs/deviations.md.
using Kernel.Core.Locking;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed partial class Machine
{
    /// <summary>spin_lock (or spin_lock_irq with irqsOff): completes when the lock is held.</summary>
    public ValueTask SpinLock(KSpinLock l, bool irqsOff = false)
    {
        ArgumentNullException.ThrowIfNull(l);
        var p = RequireExecuting();
        var cpu = ThisCpu;
        p.SetKernelMode();
        if (irqsOff)
        {
            p.IrqsDisabled = true;
        }
        if (Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
        p.SpinlocksHeld++;
        p.DebtNs += Costs.SpinLockNs;
        if (l.OwnerCpu is null)
        {
            l.Take(cpu, p, Now, 0);
            return default;
        }
        if (l.OwnerCpu == cpu)
        {
            throw new KernelBug($"BUG: spinlock recursion on CPU#{cpu.Id}, {p.Comm}/{p.Pid}, lock {l.Name}", DumpState(p));
        }
        cpu.SpinningOn = l;
        cpu.SpinStart = Now;
        l.Waiters.Enqueue(cpu);
        return SuspendExecuting(p);
    }

    /// <summary>spin_trylock: true if taken; never spins.</summary>
    public bool SpinTryLock(KSpinLock l)
    {
        ArgumentNullException.ThrowIfNull(l);
        var p = RequireExecuting();
        if (l.OwnerCpu is not null)
        {
            return false;
        }
        p.SetKernelMode();
        if (Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
        p.SpinlocksHeld++;
        p.DebtNs += Costs.SpinLockNs;
        l.Take(ThisCpu, p, Now, 0);
        return true;
    }

    /// <summary>spin_unlock (spin_unlock_irq with irqsOn): release, then preempt_enable.</summary>
    public ValueTask SpinUnlock(KSpinLock l, bool irqsOn = false)
    {
        ArgumentNullException.ThrowIfNull(l);
        var p = RequireExecuting();
        if (l.OwnerTask != p)
        {
            throw new KernelBug($"BUG: spinlock wrong owner on CPU#{ThisCpu.Id}, {p.Comm}/{p.Pid}, lock {l.Name} (owner {l.OwnerTask})", DumpState(p));
        }
        l.Release(Now);
        p.SpinlocksHeld--;
        if (l.Waiters.TryDequeue(out var waiter))
        {
            long spun = Now - waiter.SpinStart;
            var wt = waiter.Curr;
            l.Take(waiter, wt, Now, spun);
            waiter.SpinningOn = null;
            wt.SumExecRuntimeNs += spun;
            waiter.BusyNs += spun;
            QueueDispatch(waiter);
        }
        if (irqsOn)
        {
            // spin_unlock_irq: the lock is released, then interrupts come back (a deferred tick
            // runs now), then preempt_enable.
            p.IrqsDisabled = false;
            var cpu = ThisCpu;
            if (cpu.TickDeferred)
            {
                cpu.TickDeferred = false;
                TickHandler(cpu);
            }
        }
        if (Preempt != PreemptModel.Full)
        {
            return default;
        }
        p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        return PreemptCheck(p);
    }

    /// <summary>Charged lock use from synchronous kernel code: returns spin + hold, already owed by `cpu`'s current task.</summary>
    public long ChargeLock(KSpinLock l, Cpu cpu, long holdNs)
    {
        if (!_running)
        {
            // Host-side setup (spawning a thousand programs at one instant) is sequential code on
            // one CPU, not contention: it owes the holds but never spins on its own earlier ones.
            ChargeTo(cpu, holdNs);
            return holdNs;
        }
        long spin = l.Charge(Now, holdNs);
        long total = spin + holdNs;
        ChargeTo(cpu, total);
        return total;
    }
}
