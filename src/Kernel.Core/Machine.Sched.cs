// schedule() as the machine sees it: the context switch, the "scheduling while atomic" check, and
// the preemption primitives kernel paths use (preempt_disable/enable, cond_resched, might_sleep).
// Linux 2.6.20 kernel/sched.c (schedule, preempt_schedule, __cond_resched) and
// include/linux/preempt.h: without CONFIG_PREEMPT the preempt_count helpers are empty.
using Kernel.Core.Locking;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed partial class Machine
{
    /// <summary>Pick the next task for `cpu` and switch to it. Safe from task and interrupt context.</summary>
    internal TaskStruct ScheduleCore(Cpu cpu, TaskStruct prev)
    {
        PauseSegment(cpu);
        var next = Scheduler.Schedule(cpu, prev);
        if (next != prev)
        {
            ContextSwitch(cpu, prev, next);
        }
        return next;
    }

    private void ContextSwitch(Cpu cpu, TaskStruct prev, TaskStruct next)
    {
        if (next.Cpu != cpu.Id)
        {
            throw new KernelBug($"{cpu}: switching to {next} which belongs to cpu{next.Cpu}", DumpState(next));
        }
        bool voluntary = prev.State != TaskState.TASK_RUNNING && (prev.PreemptCount & PreemptCount.PREEMPT_ACTIVE) == 0;
        if (voluntary)
        {
            prev.Nvcsw++;
        }
        else
        {
            prev.Nivcsw++;
        }
        Trace.OnSchedSwitch(Now, cpu.Id, prev, next);
        cpu.Curr = next;
        if (!next.IsIdleTask)
        {
            next.DebtNs += Costs.ContextSwitchNs + cpu.CarriedDebtNs;
            cpu.CarriedDebtNs = 0;
        }
        QueueDispatch(cpu);
    }

    /// <summary>
    /// schedule() from the executing task: it gives up the CPU if the scheduler picks another task,
    /// and the returned ValueTask completes when it runs again.
    /// </summary>
    public ValueTask Schedule()
    {
        var p = _executing;
        if (p is null)
        {
            var cpu0 = ThisCpu;
            throw new KernelBug($"BUG: scheduling while atomic: {cpu0.Curr.Comm}/0x{cpu0.Curr.PreemptCount:x8}/{cpu0.Curr.Pid} (schedule() from interrupt context)", DumpState(cpu0.Curr));
        }
        var cpu = ThisCpu;
        if (cpu.Curr != p)
        {
            throw new KernelBug($"schedule() called by {p}, which is not current on {cpu}", DumpState(p));
        }
        p.SetKernelMode();
        CheckSchedulingWhileAtomic(cpu, p);
        var next = ScheduleCore(cpu, p);
        if (next == p)
        {
            return default;
        }
        return SuspendExecuting(p);
    }

    /// <summary>Linux prints this and carries on; the emulator also sees spinlocks held without CONFIG_PREEMPT.</summary>
    private void CheckSchedulingWhileAtomic(Cpu cpu, TaskStruct p)
    {
        if (p.ExitState != 0)
        {
            return;
        }
        if (PreemptCount.InAtomic(p.PreemptCount) || p.SpinlocksHeld > 0)
        {
            string msg = $"BUG: scheduling while atomic: {p.Comm}/0x{p.PreemptCount:x8}/{p.Pid}";
            ReportBug(cpu, p, msg);
        }
    }

    private void ReportBug(Cpu cpu, TaskStruct p, string msg)
    {
        string dump = DumpState(p) + Environment.NewLine + DumpLocks(p);
        RecordOops(cpu, msg, dump);
        if (PanicOnOops)
        {
            throw new KernelBug(msg, dump);
        }
    }

    private string DumpLocks(TaskStruct p)
    {
        return p.SpinlocksHeld == 0 ? "no spinlocks held" : $"{p.SpinlocksHeld} spinlock(s) held";
    }

    /// <summary>
    /// The last schedule() of an exiting task: it never runs again. What it still owes (the
    /// syscalls it ran without sleeping, the exit itself) is paid first, on this CPU, before the
    /// switch, so an exit's kernel time is not lost with the task.
    /// </summary>
    public void ScheduleDead(TaskStruct p)
    {
        var cpu = Cpus[p.Cpu];
        if (cpu.Curr != p)
        {
            throw new KernelBug($"exiting task {p} is not current on its CPU", DumpState(p));
        }
        ThisCpu = cpu;
        p.WorkNs = 0;
        if (_executing == p)
        {
            _executing = null;
        }
        if (p.DebtNs > 0)
        {
            p.SetKernelMode();
            p.Exec = ExecState.Dying;
            QueueDispatch(cpu);
            return;
        }
        FinishDead(cpu, p);
    }

    /// <summary>The dead task's schedule(): it leaves the CPU for good.</summary>
    private void FinishDead(Cpu cpu, TaskStruct p)
    {
        p.Exec = ExecState.Finished;
        p.DebtNs = 0;
        ScheduleCore(cpu, p);
    }

    /// <summary>A never-completing wait for code that called exit: its continuation is dropped.</summary>
    internal static ValueTask Never() => new(NeverSource.Instance, 0);

    // ------------------------------------------------------------------ preemption primitives

    /// <summary>preempt_disable (a no-op without CONFIG_PREEMPT, as in Linux).</summary>
    public void PreemptDisable()
    {
        var p = RequireExecuting();
        if (Preempt == PreemptModel.Full)
        {
            p.PreemptCount += PreemptCount.PREEMPT_OFFSET;
        }
    }

    /// <summary>preempt_enable: a preemption point under CONFIG_PREEMPT.</summary>
    public ValueTask PreemptEnable()
    {
        var p = RequireExecuting();
        if (Preempt != PreemptModel.Full)
        {
            return default;
        }
        if ((p.PreemptCount & PreemptCount.PREEMPT_MASK) == 0)
        {
            throw new KernelBug($"preempt_count underflow in {p}", DumpState(p));
        }
        p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        return PreemptCheck(p);
    }

    /// <summary>preempt_enable_no_resched.</summary>
    public void PreemptEnableNoResched()
    {
        var p = RequireExecuting();
        if (Preempt == PreemptModel.Full)
        {
            p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        }
    }

    internal ValueTask PreemptCheck(TaskStruct p)
    {
        if (p.PreemptCount != 0 || !p.NeedResched || p.IrqsDisabled)
        {
            return default;
        }
        return PreemptSchedule(p);
    }

    /// <summary>
    /// preempt_schedule / __cond_resched: schedule with PREEMPT_ACTIVE, which keeps a task that
    /// had set a sleep state on its runqueue; the task resumes when it next runs.
    /// </summary>
    private ValueTask PreemptSchedule(TaskStruct p)
    {
        var cpu = ThisCpu;
        p.PreemptCount += PreemptCount.PREEMPT_ACTIVE;
        var next = ScheduleCore(cpu, p);
        p.PreemptCount -= PreemptCount.PREEMPT_ACTIVE;
        return next == p ? default : SuspendExecuting(p);
    }

    /// <summary>cond_resched(): an explicit reschedule point in a long kernel path (all models).</summary>
    public ValueTask CondResched()
    {
        var p = RequireExecuting();
        p.SetKernelMode();
        if (!p.NeedResched || PreemptCount.InAtomic(p.PreemptCount) || p.SpinlocksHeld > 0)
        {
            return default;
        }
        return PreemptSchedule(p);
    }

    /// <summary>
    /// might_sleep(): warns when called in atomic context, and under CONFIG_PREEMPT_VOLUNTARY is
    /// also a reschedule point (might_resched).
    /// </summary>
    public ValueTask MightSleep()
    {
        var p = RequireExecuting();
        p.SetKernelMode();
        if (PreemptCount.InAtomic(p.PreemptCount) || p.IrqsDisabled || p.SpinlocksHeld > 0)
        {
            ReportBug(ThisCpu, p, "BUG: sleeping function called from invalid context" + Environment.NewLine +
                $"in_atomic():{(PreemptCount.InAtomic(p.PreemptCount) || p.SpinlocksHeld > 0 ? 1 : 0)}, irqs_disabled():{(p.IrqsDisabled ? 1 : 0)}");
            return default;
        }
        return Preempt == PreemptModel.Voluntary ? CondResched() : default;
    }

    /// <summary>
    /// might_sleep() for synchronous callers that cannot themselves reschedule (an allocation
    /// with __GFP_WAIT): records the invalid-context BUG when atomic or in an interrupt.
    /// </summary>
    public void MightSleepCheck(string where)
    {
        var cpu = ThisCpu;
        if (cpu is null)
        {
            return;
        }
        var p = cpu.Curr;
        bool inIrq = PreemptCount.InInterrupt(p.PreemptCount);
        bool atomic = PreemptCount.InAtomic(p.PreemptCount) || (_executing == p && p.SpinlocksHeld > 0);
        if ((_executing == p || inIrq) && (atomic || p.IrqsDisabled))
        {
            ReportBug(cpu, p, $"BUG: sleeping function called from invalid context at {where}" + Environment.NewLine +
                $"in_atomic():{(atomic ? 1 : 0)}, irqs_disabled():{(p.IrqsDisabled ? 1 : 0)}");
        }
    }

    /// <summary>signal_pending(current).</summary>
    public static bool SignalPending(TaskStruct p) => (p.ThreadFlags & ThreadInfoFlags.TIF_SIGPENDING) != 0;

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
        // The lock's timeline is compared with this CPU's own clock: Now plus the kernel time its
        // context already owes. A run of synchronous kernel work leaves Now where it was while the
        // debt grows; its later acquisitions happen that much later.
        long local = Now + (cpu.Curr.IsIdleTask ? cpu.CarriedDebtNs : cpu.Curr.DebtNs);
        long spin = l.Charge(cpu, local, holdNs);
        long total = spin + holdNs;
        ChargeTo(cpu, total);
        return total;
    }

    /// <summary>wake_up_process: wake a sleeping or stopped task. Returns true if it was woken.</summary>
    public bool WakeUpProcess(TaskStruct p) =>
        Scheduler.TryToWakeUp(p, TaskState.TASK_INTERRUPTIBLE | TaskState.TASK_UNINTERRUPTIBLE | TaskState.TASK_STOPPED | TaskState.TASK_TRACED, sync: false);

    /// <summary>wake_up_state: wake only if the task's state is in `mask`.</summary>
    public bool WakeUpState(TaskStruct p, TaskState mask) => Scheduler.TryToWakeUp(p, mask, sync: false);

    /// <summary>
    /// The return-to-user check a syscall ends with: reschedule if needed and deliver signals.
    /// Completes synchronously with `ret` when there is nothing to do and the task owes at most
    /// MaxOwedNs; otherwise the task parks until the CPU has paid (and the work loop has run).
    /// </summary>
    public ValueTask<long> SyscallReturn(TaskStruct p, long ret)
    {
        if (!p.NeedResched && (p.ThreadFlags & ThreadInfoFlags.TIF_SIGPENDING) == 0 && p.DebtNs <= _maxOwedNs)
        {
            p.BeginReturnToUser();
            return new ValueTask<long>(ret);
        }
        // Park the task with its return value; the dispatch loop runs the user-mode work loop
        // (schedule, do_notify_resume) before resuming it.
        p.BeginReturnToUser();
        p.ResumeValue = ret;
        QueueDispatch(ThisCpu);
        return SuspendExecutingForValue(p);
    }

    /// <summary>schedule() from the return-to-user work loop (a stop signal), outside the task's code.</summary>
    public void ScheduleFromWorkLoop(TaskStruct p)
    {
        var cpu = Cpus[p.Cpu];
        if (cpu.Curr != p)
        {
            throw new KernelBug($"{p} is not current on cpu{p.Cpu}", DumpState(p));
        }
        ThisCpu = cpu;
        ScheduleCore(cpu, p);
    }

    /// <summary>Run a user signal handler (host code of the program) as the task, in zero time.</summary>
    public void RunUserHandler(TaskStruct p, Action handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var saved = _executing;
        _executing = p;
        try
        {
            handler();
        }
        catch (Exception e)
        {
            _pendingHostException ??= new EmulatedProgramException($"Signal handler of {p} threw {e.GetType().Name}: {e.Message}", e);
        }
        finally
        {
            _executing = saved;
        }
    }
}
