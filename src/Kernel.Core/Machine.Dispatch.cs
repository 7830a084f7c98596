// The execution engine: segments of simulated CPU time and the trampoline that resumes parked
// task code. Invariant: a CPU is in at most one of {segment active, spinning}, and a task's host
// code only runs from RunDispatchQueue, never nested inside another task's code.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Kernel.Core.Events;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed partial class Machine
{
    internal void QueueDispatch(Cpu cpu)
    {
        if (!cpu.DispatchQueued)
        {
            cpu.DispatchQueued = true;
            _dispatch.Enqueue(cpu);
        }
    }

    private void RunDispatchQueue()
    {
        while (_dispatch.TryDequeue(out var cpu))
        {
            cpu.DispatchQueued = false;
            Dispatch(cpu);
        }
    }

    /// <summary>Make `cpu` do whatever its current task needs next, until it waits on time.</summary>
    private void Dispatch(Cpu cpu)
    {
        ThisCpu = cpu;
        while (true)
        {
            if (cpu.SegActive || cpu.IsSpinning)
            {
                return;
            }
            var p = cpu.Curr;
            if (p.IsIdleTask)
            {
                // cpu_idle(): while (!need_resched()) halt; schedule();
                if (p.NeedResched)
                {
                    ScheduleCore(cpu, p);
                    continue;
                }
                return;
            }
            // The way back to user mode: reschedule and deliver signals first (entry.S work loop).
            if (!p.InKernel && p.Exec != ExecState.NotStarted)
            {
                if (p.NeedResched)
                {
                    ScheduleCore(cpu, p);
                    continue;
                }
                if ((p.ThreadFlags & ThreadInfoFlags.TIF_SIGPENDING) != 0)
                {
                    Hooks.DoNotifyResume(p);
                    if (cpu.Curr != p || p.Exec == ExecState.Finished)
                    {
                        continue;
                    }
                }
            }
            if (p.DebtNs + p.WorkNs > 0)
            {
                StartSegment(cpu, p);
                return;
            }
            switch (p.Exec)
            {
                case ExecState.NotStarted:
                    StartBody(p);
                    break;
                case ExecState.Suspended:
                    ResumeTask(p);
                    break;
                case ExecState.Dying:
                    FinishDead(cpu, p); // its exit's kernel time is paid: the final switch
                    break;
                default:
                    throw new KernelBug($"{cpu}: current task {p} is {p.Exec} with nothing to run", DumpState(p));
            }
        }
    }

    private void StartSegment(Cpu cpu, TaskStruct p)
    {
        cpu.SegActive = true;
        cpu.SegStart = Now;
        long length = p.DebtNs + p.WorkNs;
        if (p.ReturnToUserPending && p.DebtNs > 0
            && (p.NeedResched || (p.ThreadFlags & ThreadInfoFlags.TIF_SIGPENDING) != 0))
        {
            // The kernel path ends at the debt's end, where the return-to-user work loop must run
            // (schedule, signals) before the user-mode work that follows.
            length = p.DebtNs;
        }
        cpu.SegEnd = Now + length;
        cpu.SegGen++;
        _events.Push(cpu.SegEnd, EventPriority.Segment, cpu, (cpu.SegGen << 2) | Cpu.KindSegment);
    }

    /// <summary>Stop the running segment at Now, crediting the elapsed time (debt first).</summary>
    internal void PauseSegment(Cpu cpu)
    {
        if (!cpu.SegActive)
        {
            return;
        }
        var p = cpu.Curr;
        long elapsed = Now - cpu.SegStart;
        long fromDebt = Math.Min(elapsed, p.DebtNs);
        p.DebtNs -= fromDebt;
        p.WorkNs -= elapsed - fromDebt;
        p.DebtPaid();
        p.SumExecRuntimeNs += elapsed;
        cpu.BusyNs += elapsed;
        cpu.SegActive = false;
        cpu.SegGen++;
    }

    internal void OnCpuEvent(Cpu cpu, long arg)
    {
        ThisCpu = cpu;
        switch (arg & 3)
        {
            case Cpu.KindSegment:
                if ((arg >> 2) != cpu.SegGen || !cpu.SegActive)
                {
                    return; // cancelled by an interrupt or a switch
                }
                PauseSegment(cpu);
                QueueDispatch(cpu);
                break;
            case Cpu.KindTick:
                TimerInterrupt(cpu);
                break;
            case Cpu.KindIpi:
                ReschedIpi(cpu);
                break;
        }
    }

    private void StartBody(TaskStruct p)
    {
        var body = p.Body ?? throw new KernelBug($"task {p} has no body to run");
        p.Body = null;
        ScheduleTail(p);
        p.Exec = ExecState.Running;
        _executing = p;
        // The body's ValueTask is deliberately not awaited: the task parks on its TaskWaiter and
        // the trampoline resumes it; RunBody catches everything and finishes the task itself.
#pragma warning disable CA2012
        _ = RunBody(p, body);
#pragma warning restore CA2012
        AfterHostCode(p);
    }

    private async ValueTask RunBody(TaskStruct p, Func<ValueTask> body)
    {
        int killSignal = 0;
        try
        {
            await body();
        }
        catch (Exception e)
        {
            p.BodyException = e;
            killSignal = 6; // SIGABRT, as abort() after an uncaught error
            if (e is KernelBug)
            {
                _pendingHostException ??= e; // a kernel path the program called hit a BUG()
            }
            else if (Options.RethrowProgramExceptions)
            {
                _pendingHostException ??= new EmulatedProgramException($"Emulated task {p} threw {e.GetType().Name}: {e.Message}", e);
            }
        }
        if (p.Exec is ExecState.Finished or ExecState.Dying)
        {
            return;
        }
        // The body returned while running as current: exit through the process layer. An
        // exception here is the kernel's own and must reach the host, not vanish with this task.
        try
        {
            _executing = p;
            p.Exec = ExecState.Running;
            Hooks.BodyReturned(p, 0, killSignal);
        }
        catch (Exception e)
        {
            _pendingHostException ??= e;
        }
        finally
        {
            if (p.Exec != ExecState.Dying)
            {
                p.Exec = ExecState.Finished;
            }
            if (_executing == p)
            {
                _executing = null;
            }
        }
    }

    private void ResumeTask(TaskStruct p)
    {
        p.Exec = ExecState.Running;
        _executing = p;
        long v = p.ResumeValue;
        p.ResumeValue = 0;
        p.Waiter.Resume(v);
        AfterHostCode(p);
    }

    private void AfterHostCode(TaskStruct p)
    {
        if (p.Exec == ExecState.Running)
        {
            // The code returned to us without parking on the kernel: it awaited something foreign
            // (Task.Delay, a host lock...). That would break determinism, so it is an error.
            p.ForeignAwait = true;
            p.Exec = ExecState.Finished;
            _pendingHostException ??= new InvalidOperationException(
                $"Emulated task {p} awaited something that is not a kernel primitive. Programs may only await the methods of their task handle.");
            Hooks.BodyReturned(p, 0, 6);
        }
        if (_executing == p)
        {
            _executing = null;
        }
    }

    /// <summary>Park the executing task on its waiter; it resumes when it has a CPU and owes nothing.</summary>
    internal ValueTask SuspendExecuting(TaskStruct p)
    {
        p.Exec = ExecState.Suspended;
        if (_executing == p)
        {
            _executing = null;
        }
        return p.Waiter.Suspend();
    }

    internal ValueTask<long> SuspendExecutingForValue(TaskStruct p)
    {
        p.Exec = ExecState.Suspended;
        if (_executing == p)
        {
            _executing = null;
        }
        return p.Waiter.SuspendForValue();
    }

    /// <summary>The executing task, or an exception telling the host it called from the wrong place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TaskStruct RequireExecuting(TaskStruct? expected = null)
    {
        var p = _executing;
        if (p is null || (expected is not null && p != expected))
        {
            ThrowNotExecuting(expected);
        }
        return p;
    }

    // Kept out of line so the checks above stay small enough to inline on every syscall.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNotExecuting(TaskStruct? expected) =>
        throw new InvalidOperationException(expected is null
            ? "No emulated task is executing: kernel primitives may only be called from emulated code."
            : $"Task {expected} is not the one executing: a task handle may only be used by its own program while it runs.");

    // ------------------------------------------------------------------ kernel entry and exit

    /// <summary>
    /// system_call or a fault: the executing task enters kernel mode owing `costNs` of kernel time.
    /// That time is system time when the tick samples it, and it runs as a kernel-mode section:
    /// preemptible only under CONFIG_PREEMPT, otherwise it ends at the return to user mode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TaskStruct EnterKernel(TaskStruct expected, long costNs)
    {
        var p = RequireExecuting(expected);
        p.SetKernelMode();
        p.DebtNs += costNs;
        return p;
    }

    /// <summary>
    /// The kernel path of `p` is done (a fault fixed, a synchronous syscall answered): it drops to
    /// user mode once the kernel time it owes is paid, and the return-to-user work loop runs there.
    /// </summary>
    public void LeaveKernel(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        p.BeginReturnToUser();
    }

    /// <summary>
    /// sched_fork under CONFIG_PREEMPT: the child starts with preempt_count 1, standing for the
    /// runqueue lock that its first schedule() holds; schedule_tail drops it when the child first
    /// runs (finish_lock_switch's spin_unlock_irq). Every scheduler's SchedFork calls this.
    /// </summary>
    public void SchedForkPreemptCount(TaskStruct child)
    {
        ArgumentNullException.ThrowIfNull(child);
        if (Preempt == PreemptModel.Full)
        {
            child.PreemptCount = PreemptCount.PREEMPT_OFFSET;
            child.ScheduleTailPending = true;
        }
    }

    /// <summary>schedule_tail: a new task's first run finishes the switch that started it.</summary>
    private static void ScheduleTail(TaskStruct p)
    {
        if (p.ScheduleTailPending)
        {
            p.ScheduleTailPending = false;
            p.PreemptCount -= PreemptCount.PREEMPT_OFFSET;
        }
    }

    // ------------------------------------------------------------------ time consumption

    /// <summary>The executing task consumes `ns` of CPU time in user mode (preemptible).</summary>
    public ValueTask Compute(TaskStruct p, long ns)
    {
        RequireExecuting(p);
        ArgumentOutOfRangeException.ThrowIfNegative(ns);
        p.BeginReturnToUser();
        if (ns == 0 && p.DebtNs == 0)
        {
            return default;
        }
        p.WorkNs = ns;
        return SuspendExecuting(p);
    }

    /// <summary>Kernel work of `ns` on behalf of the executing task; preemptible only as the model allows.</summary>
    public ValueTask Work(long ns)
    {
        var p = RequireExecuting();
        ArgumentOutOfRangeException.ThrowIfNegative(ns);
        p.SetKernelMode();
        if (ns == 0)
        {
            return default;
        }
        p.WorkNs = ns;
        return SuspendExecuting(p);
    }

    /// <summary>Charge kernel time to the executing context's task without suspending (paid before it next runs).</summary>
    /// <remarks>Work done while booting (no CPU context yet) takes no simulated time.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Charge(long ns)
    {
        if (ns != 0 && ThisCpu is { } cpu)
        {
            ChargeTo(cpu, ns);
        }
    }

    /// <summary>
    /// Kernel time spent on `cpu`: owed by its current task, or, when the CPU is idle (an interrupt
    /// woke someone), carried to the task the idle loop's schedule() switches to, so no cost is lost.
    /// </summary>
    internal void ChargeTo(Cpu cpu, long ns)
    {
        if (cpu.Curr.IsIdleTask)
        {
            cpu.CarriedDebtNs += ns;
        }
        else
        {
            cpu.Curr.DebtNs += ns;
        }
    }
}
