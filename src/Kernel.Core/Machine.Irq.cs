// Interrupts: the per-CPU timer tick (Linux 2.6.20 kernel/timer.c do_timer/update_process_times,
// kernel/sched.c account_*_time and scheduler_tick), the reschedule IPI, softirqs, and the
// return-from-interrupt path of arch/i386/kernel/entry.S, which is where preemption happens.
using Kernel.Core.Events;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core;

public sealed partial class Machine
{
    // kernel/timer.c calc_load: avenrun in FSHIFT fixed point, updated every LOAD_FREQ ticks.
    public const int FSHIFT = 11;
    public const long FIXED_1 = 1 << FSHIFT;
    private const long EXP_1 = 1884;
    private const long EXP_5 = 2014;
    private const long EXP_15 = 2037;
    private long _calcLoadCount = -1;
    private readonly long[] _avenrun = new long[3];

    /// <summary>avenrun[0..2] in FIXED_1 units (1, 5 and 15 minute load averages).</summary>
    public IReadOnlyList<long> Avenrun => _avenrun;

    private void TimerInterrupt(Cpu cpu)
    {
        // Re-arm first: the next tick is due whatever happens in this one.
        _events.Push(Now + Hz.TickNsec, cpu.Id == 0 ? EventPriority.GlobalTick : EventPriority.LocalTick, cpu, Cpu.KindTick);
        if (cpu.Id == 0)
        {
            DoTimer();
        }
        var p = cpu.Curr;
        if (p.IrqsDisabled)
        {
            // The interrupt stays pending until local_irq_enable.
            cpu.TickDeferred = true;
            return;
        }
        TickBody(cpu);
    }

    private void TickBody(Cpu cpu)
    {
        PauseSegment(cpu);
        TickHandler(cpu);
        ReturnFromInterrupt(cpu);
    }

    /// <summary>The timer interrupt's handler and softirqs, without the return path.</summary>
    private void TickHandler(Cpu cpu)
    {
        var p = cpu.Curr;
        bool userTick = !p.InKernel && !p.IsIdleTask;
        cpu.Interrupts++;
        p.PreemptCount += PreemptCount.HARDIRQ_OFFSET; // irq_enter
        if (!p.IsIdleTask)
        {
            p.DebtNs += Costs.TimerTickNs;
        }
        AccountTick(cpu, p, userTick);
        Softirqs.Raise(cpu, SoftirqNr.TIMER_SOFTIRQ); // run_local_timers
        Scheduler.SchedulerTick(cpu);
        IrqExit(cpu, p);
    }

    /// <summary>irq_exit: leave hardirq context and, if no other interrupt is active, run pending softirqs.</summary>
    private void IrqExit(Cpu cpu, TaskStruct p)
    {
        p.PreemptCount -= PreemptCount.HARDIRQ_OFFSET;
        if (!PreemptCount.InInterrupt(p.PreemptCount) && Softirqs.Pending(cpu) != 0)
        {
            p.PreemptCount += PreemptCount.SOFTIRQ_OFFSET; // __local_bh_disable
            Softirqs.DoSoftirq(cpu);
            p.PreemptCount -= PreemptCount.SOFTIRQ_OFFSET;
        }
    }

    /// <summary>
    /// do_IRQ for a device interrupt on `cpu`: irq_enter, the handler (hardirq context: it may wake
    /// tasks and raise softirqs, never sleep), irq_exit with softirq processing, then the return
    /// path, which may preempt (CONFIG_PREEMPT) or reschedule on the way back to user mode. With
    /// the CPU's interrupts off, the interrupt is taken when they come back on.
    /// </summary>
    public void DoIrq(Cpu cpu, Action<Cpu> handler)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        ArgumentNullException.ThrowIfNull(handler);
        ThisCpu = cpu;
        if (cpu.Curr.IrqsDisabled)
        {
            (cpu.DeferredIrqs ??= new Queue<Action<Cpu>>()).Enqueue(handler);
            return;
        }
        PauseSegment(cpu);
        DeviceIrqBody(cpu, handler);
        ReturnFromInterrupt(cpu);
    }

    private void DeviceIrqBody(Cpu cpu, Action<Cpu> handler)
    {
        var p = cpu.Curr;
        cpu.Interrupts++;
        p.PreemptCount += PreemptCount.HARDIRQ_OFFSET; // irq_enter
        ChargeTo(cpu, Costs.IrqNs);
        handler(cpu);
        IrqExit(cpu, p);
    }

    /// <summary>do_timer: jiffies and the load average advance on the boot CPU's tick.</summary>
    private void DoTimer()
    {
        Jiffies64++;
        long loadFreq = 5 * Hz.Value + 1;
        if (_calcLoadCount < 0)
        {
            _calcLoadCount = loadFreq;
        }
        if (--_calcLoadCount < 0)
        {
            _calcLoadCount += loadFreq;
            var (running, unint) = Scheduler.CountActive();
            long active = (running + unint) * FIXED_1;
            _avenrun[0] = CalcLoad(_avenrun[0], EXP_1, active);
            _avenrun[1] = CalcLoad(_avenrun[1], EXP_5, active);
            _avenrun[2] = CalcLoad(_avenrun[2], EXP_15, active);
        }
    }

    private static long CalcLoad(long load, long exp, long n) => (load * exp + n * (FIXED_1 - exp)) >> FSHIFT;

    /// <summary>account_user_time / account_system_time for one tick.</summary>
    private void AccountTick(Cpu cpu, TaskStruct p, bool userTick)
    {
        var st = cpu.Stat;
        if (userTick)
        {
            p.Utime++;
            if (p.Nice > 0)
            {
                st.Nice++;
            }
            else
            {
                st.User++;
            }
            return;
        }
        p.Stime++;
        if (PreemptCount.HardirqCount(p.PreemptCount) - PreemptCount.HARDIRQ_OFFSET > 0)
        {
            st.Irq++;
        }
        else if (PreemptCount.SoftirqCount(p.PreemptCount) > 0)
        {
            st.Softirq++;
        }
        else if (!p.IsIdleTask)
        {
            st.System++;
        }
        else if (NrIowait(cpu) > 0)
        {
            st.Iowait++;
        }
        else
        {
            st.Idle++;
        }
    }

    /// <summary>Tasks of this CPU sleeping on I/O (rq->nr_iowait); the block layer raises it.</summary>
    public long NrIowait(Cpu cpu) => _nrIowait is null ? 0 : _nrIowait[cpu.Id];

    private long[]? _nrIowait;

    public void IowaitInc(int cpu) => (_nrIowait ??= new long[Cpus.Length])[cpu]++;

    public void IowaitDec(int cpu) => (_nrIowait ??= new long[Cpus.Length])[cpu]--;

    /// <summary>resched_task: set TIF_NEED_RESCHED and kick the task's CPU if it is not this one.</summary>
    public void ReschedTask(TaskStruct p)
    {
        if (p.NeedResched)
        {
            return;
        }
        p.ThreadFlags |= ThreadInfoFlags.TIF_NEED_RESCHED;
        var target = Cpus[p.Cpu];
        if (target.Curr != p)
        {
            return;
        }
        if (target != ThisCpu || (!_running && !p.IsIdleTask))
        {
            // Another CPU, or a host-side call (a spawn, a signal from the harness) that stands
            // for code running elsewhere: the running task learns of it by an interrupt.
            SendReschedIpi(target);
        }
        else if (p.IsIdleTask)
        {
            QueueDispatch(target); // the idle loop notices need_resched at once
        }
    }

    /// <summary>set_tsk_need_resched without any IPI (the caller is on the task's CPU).</summary>
    public static void SetNeedResched(TaskStruct p) => p.ThreadFlags |= ThreadInfoFlags.TIF_NEED_RESCHED;

    public static void ClearNeedResched(TaskStruct p) => p.ThreadFlags &= ~ThreadInfoFlags.TIF_NEED_RESCHED;

    /// <summary>smp_send_reschedule: interrupt `target` after the IPI latency.</summary>
    public void SendReschedIpi(Cpu target)
    {
        if (target.IpiInFlight)
        {
            return;
        }
        target.IpiInFlight = true;
        _events.Push(Now + Costs.IpiNs, EventPriority.Ipi, target, Cpu.KindIpi);
    }

    /// <summary>kick_process: make a task running on another CPU enter the kernel (signal delivery).</summary>
    public void KickProcess(TaskStruct p)
    {
        var target = Cpus[p.Cpu];
        if (target.Curr == p && target != ThisCpu)
        {
            SendReschedIpi(target);
        }
    }

    private void ReschedIpi(Cpu cpu)
    {
        cpu.IpiInFlight = false;
        if (cpu.Curr.IrqsDisabled)
        {
            // need_resched is already set; it is acted on at the next preemption point.
            return;
        }
        PauseSegment(cpu);
        cpu.Interrupts++;
        ReturnFromInterrupt(cpu);
    }

    /// <summary>
    /// ret_from_intr: back to user mode reschedules on need_resched and delivers signals (the
    /// dispatch loop does both); back to kernel mode preempts only under CONFIG_PREEMPT with
    /// preempt_count 0 (preempt_schedule_irq).
    /// </summary>
    private void ReturnFromInterrupt(Cpu cpu)
    {
        var p = cpu.Curr;
        if (cpu.IsSpinning)
        {
            return; // keeps spinning; preemption is disabled around a contended spin
        }
        if (!p.IsIdleTask && p.InKernel && Preempt == PreemptModel.Full && p.PreemptCount == 0 && p.NeedResched
            && p.Exec is not (ExecState.NotStarted or ExecState.Dying))
        {
            PreemptScheduleIrq(cpu, p);
        }
        QueueDispatch(cpu);
    }

    private void PreemptScheduleIrq(Cpu cpu, TaskStruct p)
    {
        p.PreemptCount += PreemptCount.PREEMPT_ACTIVE;
        ScheduleCore(cpu, p);
        p.PreemptCount -= PreemptCount.PREEMPT_ACTIVE;
    }

    /// <summary>local_irq_disable for the executing task's CPU.</summary>
    public void LocalIrqDisable()
    {
        var p = RequireExecuting();
        p.IrqsDisabled = true;
    }

    /// <summary>
    /// local_irq_enable: a tick that arrived while interrupts were off is taken at once, as the
    /// pending interrupt fires at sti; under CONFIG_PREEMPT its return path may preempt.
    /// </summary>
    public ValueTask LocalIrqEnable()
    {
        var p = RequireExecuting();
        bool any = IrqsBackOn(ThisCpu, p);
        return any && Preempt == PreemptModel.Full ? PreemptCheck(p) : default;
    }

    /// <summary>
    /// Interrupts come back on (sti): the device interrupts and the tick that arrived meanwhile are
    /// taken now, in arrival order of kind. True if any was. local_irq_enable and spin_unlock_irq
    /// both end here.
    /// </summary>
    internal bool IrqsBackOn(Cpu cpu, TaskStruct p)
    {
        p.IrqsDisabled = false;
        bool any = false;
        while (cpu.DeferredIrqs is { Count: > 0 } q)
        {
            DeviceIrqBody(cpu, q.Dequeue());
            any = true;
        }
        if (cpu.TickDeferred)
        {
            cpu.TickDeferred = false;
            TickHandler(cpu);
            any = true;
        }
        return any;
    }
}
