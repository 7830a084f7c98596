// The deterministic emulated machine: a virtual nanosecond clock, an event agenda, N CPUs with a
// timer interrupt each, and the engine that runs emulated code (user programs and kernel paths,
// all C# async methods) on those CPUs. Nothing here reads host time or touches statics; an
// instance is driven by one host thread at a time, and instances share nothing.
//
// How execution works (see docs/architecture.md): a task's code runs on the host only inside an
// event, in zero simulated time, until it awaits a kernel primitive (Compute, Work, Schedule, a
// spinlock). That parks it on its TaskWaiter. A CPU then consumes simulated time in "segments"
// (the task's owed kernel time plus its compute), ended by a Segment event or cut short by an
// interrupt. When the task has the CPU and owes nothing, the machine resumes it. The dispatch
// loop is a trampoline: resuming a task never nests inside another task's host stack.
using Kernel.Core.Events;
using Kernel.Core.Sched;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Core.Trace;

namespace Kernel.Core;

public sealed partial class Machine
{
    private readonly EventQueue _events = new();
    private readonly Queue<Cpu> _dispatch = new();
    private readonly List<Oops> _oopses = new();
    private TaskStruct? _executing;
    private Exception? _pendingHostException;
    private bool _running;
    private ITaskHooks? _hooks;

    public Machine(MachineOptions options, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(scheduler);
        options.Validate();
        Options = options;
        _maxOwedNs = options.MaxOwedNs;
        Hz = new Hz(options.Hz);
        Costs = options.Costs;
        Preempt = options.Preempt;
        PanicOnOops = options.PanicOnOops;
        Random = new Prng(options.Seed);
        Scheduler = scheduler;
        Cpus = new Cpu[options.Cpus];
        for (int i = 0; i < Cpus.Length; i++)
        {
            Cpus[i] = new Cpu(this, i);
        }
        OnlineMask = CpuMask.FirstN(Cpus.Length);
        Tasks = new TaskList(new PidMap(options.PidMax, options.PidMaxLimit));
        ProcFiles = new Proc.ProcRegistry(Tasks);
        Jiffies64 = Hz.InitialJiffies;
        Softirqs = new Softirq(Cpus.Length);
        Softirqs.Open(SoftirqNr.TIMER_SOFTIRQ, cpu => KTimer.RunTimerSoftirq(this, cpu));
        TimerBases = new TimerBase[Cpus.Length];
        for (int i = 0; i < Cpus.Length; i++)
        {
            TimerBases[i] = new TimerBase();
        }
        Scheduler.Init(this);
        for (int i = 0; i < Cpus.Length; i++)
        {
            var idle = new TaskStruct(this, 0, "swapper")
            {
                IsIdleTask = true,
                Flags = TaskFlags.PF_KTHREAD,
                Cpu = i,
                CpusAllowed = CpuMask.Of(i),
                State = TaskState.TASK_RUNNING,
            };
            idle.Exec = ExecState.Suspended;
            idle.SetKernelMode();
            Cpus[i].Idle = idle;
            Cpus[i].Curr = idle;
            Scheduler.InitIdle(idle, Cpus[i]);
        }
        // The boot CPU's tick (which also runs do_timer) lands TICK_NSEC after boot. The other
        // CPUs' local APIC timers start at a seed-chosen phase within the tick, as real ones are
        // not aligned: this is where the seed enters the machine.
        for (int i = 0; i < Cpus.Length; i++)
        {
            long phase = i == 0 ? 0 : Random.Next(Hz.TickNsec);
            _events.Push(Hz.TickNsec + phase, i == 0 ? EventPriority.GlobalTick : EventPriority.LocalTick, Cpus[i], Cpu.KindTick);
        }
    }

    public MachineOptions Options { get; }

    // Read on every syscall return (MachineOptions.MaxOwedNs).
    private readonly long _maxOwedNs;

    /// <summary>/proc/sys/kernel/panic_on_oops: turn recorded warnings into a thrown KernelBug.</summary>
    public bool PanicOnOops { get; set; }

    /// <summary>Simulated nanoseconds since boot.</summary>
    public long Now { get; private set; }

    public Hz Hz { get; }

    public CostTable Costs { get; }

    public PreemptModel Preempt { get; }

    public Prng Random { get; }

    public IScheduler Scheduler { get; }

    public Cpu[] Cpus { get; }

    public CpuMask OnlineMask { get; }

    /// <summary>The task list and pid hash: every task between copy_process and release_task.</summary>
    public TaskList Tasks { get; }

    /// <summary>The per-CPU timer bases (tvec_bases) that KTimer arms on.</summary>
    internal TimerBase[] TimerBases { get; }

    /// <summary>The softirq vector: open_softirq / raise_softirq, run at irq_exit.</summary>
    public Softirq Softirqs { get; }

    /// <summary>/proc and /sys files, registered by the subsystems that own them.</summary>
    public Proc.ProcRegistry ProcFiles { get; }

    public Tracepoints Trace { get; } = new();

    /// <summary>jiffies as a 64-bit count (get_jiffies_64).</summary>
    public ulong Jiffies64 { get; private set; }

    /// <summary>jiffies as i386 sees it: 32 bits, wrapping 5 minutes after boot.</summary>
    public uint Jiffies => unchecked((uint)Jiffies64);

    /// <summary>Warnings the kernel printed and survived ("scheduling while atomic").</summary>
    public IReadOnlyList<Oops> Oopses => _oopses;

    /// <summary>The CPU whose context is executing right now (smp_processor_id()).</summary>
    public Cpu ThisCpu { get; private set; } = null!;

    /// <summary>Run host-side kernel work (spawning, signalling from the harness) as if on CPU 0.</summary>
    public void EnterHostContext()
    {
        if (_executing is not null)
        {
            throw new InvalidOperationException("Host-side kernel calls cannot be made from emulated code.");
        }
        ThisCpu = Cpus[0];
    }

    /// <summary>`current` on this CPU.</summary>
    public TaskStruct Current => ThisCpu.Curr;

    /// <summary>The task whose host code is executing right now, if any.</summary>
    public TaskStruct? Executing => _executing;

    public long EventsProcessed { get; private set; }

    /// <summary>Connect the process layer (signals, exit). Set once at boot.</summary>
    public void SetHooks(ITaskHooks hooks)
    {
        if (_hooks is not null)
        {
            throw new InvalidOperationException("Task hooks are already set.");
        }
        _hooks = hooks;
    }

    internal ITaskHooks Hooks => _hooks ?? throw new InvalidOperationException("No process layer is attached to this machine.");

    /// <summary>kthread_create + wake_up_process, through the process layer (which owns task memory and pids).</summary>
    public TaskStruct KthreadCreate(string name, Func<TaskStruct, ValueTask> body, int cpu = -1, bool wake = true) => Hooks.KthreadCreate(name, body, cpu, wake);

    /// <summary>force_sig: `sig` reaches `p` even if blocked or ignored.</summary>
    public void ForceSig(TaskStruct p, int sig) => Hooks.ForceSig(p, sig);

    /// <summary>
    /// Create a task object (copy_process's allocation); the caller fills in identity and queues it.
    /// A kernel thread is PF_KTHREAD and lives in kernel mode.
    /// </summary>
    public TaskStruct AllocTask(int pid, string comm, bool kernelThread = false)
    {
        var p = new TaskStruct(this, pid, comm) { StartTimeNs = Now };
        if (kernelThread)
        {
            p.Flags |= TaskFlags.PF_KTHREAD;
            p.SetKernelMode();
        }
        return p;
    }

    /// <summary>Give a not-yet-started task the code it will run.</summary>
    public void SetBody(TaskStruct p, Func<ValueTask> body)
    {
        if (p.Exec != ExecState.NotStarted)
        {
            throw new InvalidOperationException($"Task {p} has already started.");
        }
        p.Body = body;
    }

    // ------------------------------------------------------------------ running

    /// <summary>Process the next event. Returns false only if the agenda is empty.</summary>
    public bool Step()
    {
        EnterRun();
        try
        {
            return StepCore();
        }
        finally
        {
            ExitRun();
        }
    }

    /// <summary>Run for `durationNs` of simulated time.</summary>
    public void Run(long durationNs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(durationNs);
        RunTo(checked(Now + durationNs));
    }

    public void Run(TimeSpan duration) => Run(duration.Ticks * 100);

    /// <summary>Run until simulated time `timeNs` (absolute, since boot).</summary>
    public void RunTo(long timeNs)
    {
        if (timeNs < Now)
        {
            throw new ArgumentOutOfRangeException(nameof(timeNs), $"Time {timeNs} is in the past (now {Now}).");
        }
        EnterRun();
        try
        {
            RunHostQueuedWork();
            while (_events.PeekTime <= timeNs)
            {
                StepCore();
            }
            Now = timeNs;
        }
        finally
        {
            ExitRun();
        }
    }

    /// <summary>Run until `predicate` holds (checked after every event) or `maxNs` passes. True if it held.</summary>
    public bool RunUntil(Func<bool> predicate, long maxNs)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        ArgumentOutOfRangeException.ThrowIfNegative(maxNs);
        long end = checked(Now + maxNs);
        EnterRun();
        try
        {
            RunHostQueuedWork();
            if (predicate())
            {
                return true;
            }
            while (_events.PeekTime <= end)
            {
                StepCore();
                if (predicate())
                {
                    return true;
                }
            }
            Now = end;
            return false;
        }
        finally
        {
            ExitRun();
        }
    }

    /// <summary>
    /// Run until nothing can happen without outside input: no runnable task but the idle tasks,
    /// no CPU busy or spinning, no armed timer. Returns false if that did not happen within maxNs.
    /// </summary>
    public bool RunUntilIdle(long maxNs) => RunUntil(IsQuiescent, maxNs);

    public bool IsQuiescent()
    {
        foreach (var cpu in Cpus)
        {
            if (!cpu.IsIdle || cpu.SegActive || cpu.IsSpinning)
            {
                return false;
            }
        }
        foreach (var t in TimerBases)
        {
            if (t.ArmedCount > 0)
            {
                return false;
            }
        }
        return Scheduler.CountActive().Running == 0;
    }

    private SynchronizationContext? _hostContext;

    private void EnterRun()
    {
        if (_running)
        {
            throw new InvalidOperationException("The machine is already running: Run/Step cannot be called from emulated code.");
        }
        _running = true;
        // Emulated code must resume inline on this thread: no host scheduling context may
        // capture its continuations (a test runner's context would post them elsewhere).
        _hostContext = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
    }

    private void ExitRun()
    {
        _running = false;
        SynchronizationContext.SetSynchronizationContext(_hostContext);
        _hostContext = null;
        ThrowPendingHostException();
    }

    /// <summary>
    /// Work made ready from the host side (a spawn, a signal) runs at the current time, even when
    /// the next event lies beyond the run's end.
    /// </summary>
    private void RunHostQueuedWork()
    {
        if (_dispatch.Count > 0)
        {
            ThisCpu ??= Cpus[0];
            RunDispatchQueue();
            ThrowPendingHostException();
        }
    }

    /// <summary>
    /// Rethrow what a task's code threw, keeping the stack where it fired (a KernelBug's trace shows
    /// the kernel path that hit the BUG, not this loop).
    /// </summary>
    private void ThrowPendingHostException()
    {
        if (_pendingHostException is not null)
        {
            var e = _pendingHostException;
            _pendingHostException = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
        }
    }

    private bool StepCore()
    {
        RunHostQueuedWork();
        if (!_events.TryPop(out long time, out var target, out long arg))
        {
            return false;
        }
        if (time < Now)
        {
            throw new KernelBug($"event scheduled in the past ({time} < {Now})");
        }
        Now = time;
        EventsProcessed++;
        target.OnEvent(arg);
        RunDispatchQueue();
        ThrowPendingHostException();
        return true;
    }

    /// <summary>Schedule a callback at an absolute simulated time (device models, host probes).</summary>
    public void At(long timeNs, EventPriority priority, IEventTarget target, long arg)
    {
        if (timeNs < Now)
        {
            throw new ArgumentOutOfRangeException(nameof(timeNs), "Cannot schedule an event in the past.");
        }
        _events.Push(timeNs, priority, target, arg);
    }

    /// <summary>A printk(KERN_ERR) warning with a dump: recorded, the kernel carries on.</summary>
    public void RecordWarning(Cpu cpu, string message) => RecordOops(cpu, message, DumpState(cpu.Curr));

    internal void RecordOops(Cpu cpu, string message, string dump)
    {
        _oopses.Add(new Oops(Now, cpu.Id, message, dump));
        Trace.OnOops(Now, cpu.Id, message);
    }

    /// <summary>An oops-like dump of a task and the CPUs, for KernelBug and warnings.</summary>
    public string DumpState(TaskStruct? p)
    {
        var sb = new System.Text.StringBuilder();
        if (p is not null)
        {
            sb.AppendLine($"Pid: {p.Pid}, comm: {p.Comm}, state: {p.State}, preempt_count: 0x{p.PreemptCount:x8}, spinlocks held: {p.SpinlocksHeld}, cpu: {p.Cpu}, in kernel: {p.InKernel}");
        }
        foreach (var c in Cpus)
        {
            sb.AppendLine($"cpu{c.Id}: curr {c.Curr.Comm}/{c.Curr.Pid} preempt_count 0x{c.Curr.PreemptCount:x8}{(c.SpinningOn is null ? "" : $" spinning on {c.SpinningOn.Name} (owner cpu{c.SpinningOn.OwnerCpu?.Id})")}");
        }
        sb.Append($"time {Now} ns, jiffies {Jiffies}");
        return sb.ToString();
    }
}
