// The composition root: one emulated Linux 2.6.20 kernel. It owns the machine (clock, CPUs,
// events), the scheduler, the pid map and the task list, and implements the process layer
// (fork, exit, wait, signals) that programs reach through their UserTask handle.
//
//     var k = LinuxKernel.Boot(new KernelOptions { Cpus = 2 });
//     var t = k.Spawn("hog", async self => { await self.Compute(50_000_000); });
//     k.Run(TimeSpan.FromSeconds(1));
//
// One instance runs on one host thread at a time; instances share nothing.
using Kernel.Core;
using Kernel.Core.Sched;
using Kernel.Core.Tasks;
using Kernel.Core.Trace;
using Kernel.Mm;
using Kernel.Proc;
using Kernel.Process;
using Kernel.Sched;
using Kernel.Sched.Goodness;
using Kernel.Sched.O1;
using Kernel.Syscalls;

namespace Kernel;

/// <summary>An emulated program: an async method that receives its task's handle.</summary>
public delegate ValueTask UserProgram(UserTask self);

public sealed partial class LinuxKernel : ITaskHooks, IDisposable
{
    private readonly List<TaskStruct> _kthreads = new();

    private LinuxKernel(KernelOptions options)
    {
        Options = options;
        Scheduler = options.Scheduler switch
        {
            SchedulerKind.O1 => new O1Scheduler(options.Sched),
            SchedulerKind.Goodness24 => new GoodnessScheduler(),
            _ => throw new ArgumentException($"Unknown scheduler kind {options.Scheduler}."),
        };
        Machine = new Machine(options.BootMachineOptions(), Scheduler);
        Machine.SetHooks(this);
        Memory = new MemorySubsystem(Machine, options.Memory);
        Machine.EnterHostContext();
        TaskStructCachep = Memory.KmemCacheCreate("task_struct", SizeofTaskStruct, Kernel.Mm.Slab.SlabFlags.SLAB_HWCACHE_ALIGN | Kernel.Mm.Slab.SlabFlags.SLAB_PANIC);
        // fork_init: THREAD_SIZE is 8 KiB (two pages), so mempages / 16.
        _maxThreads = (int)Math.Max(20, Memory.TotalPages / (8 * (MemoryLayout.PAGE_SIZE << THREAD_SIZE_ORDER) / MemoryLayout.PAGE_SIZE));
        RlimitNproc = _maxThreads / 2;
        Proc = new ProcFs(this);
        Mounts = new Fs.MountTable(Memory.Shmem, Machine.ProcFiles);
    }

    /// <summary>Boot a kernel: CPUs and idle tasks, init (pid 1), the migration threads.</summary>
    public static LinuxKernel Boot(KernelOptions? options = null)
    {
        options ??= new KernelOptions();
        options.Validate();
        var k = new LinuxKernel(options);
        k.StartInit();
        return k;
    }

    public KernelOptions Options { get; }

    public Machine Machine { get; }

    public IScheduler Scheduler { get; }

    public PidMap Pids => Machine.Tasks.Pids;

    /// <summary>Physical memory: mem_map, zones and the page allocator (pg_data_t of node 0).</summary>
    public MemorySubsystem Memory { get; }

    /// <summary>sizeof(struct task_struct) on 2.6.20 i386 (approximately: config dependent).</summary>
    public const int SizeofTaskStruct = 1312;

    /// <summary>THREAD_SIZE: the 8 KiB kernel stack (order 1) of every task (no CONFIG_4KSTACKS).</summary>
    public const int THREAD_SIZE_ORDER = 1;

    /// <summary>task_struct_cachep.</summary>
    public Kernel.Mm.Slab.KmemCache TaskStructCachep { get; }

    public ProcFs Proc { get; }

    /// <summary>The mount table: tmpfs at "/", and whatever a harness or a file system mounts.</summary>
    public Fs.MountTable Mounts { get; }

    public Tracepoints Trace => Machine.Trace;

    /// <summary>init (pid 1): reaps orphans, parent of every spawned process.</summary>
    public TaskStruct Init { get; private set; } = null!;

    /// <summary>Simulated nanoseconds since boot.</summary>
    public long Now => Machine.Now;

    /// <summary>Every task with a pid, in pid order (idle tasks excluded).</summary>
    public IEnumerable<TaskStruct> Tasks => TaskListOrderedByPid();

    private List<TaskStruct> TaskListOrderedByPid()
    {
        var all = new List<TaskStruct>(Machine.Tasks.Count);
        foreach (var t in Machine.Tasks)
        {
            all.Add(t);
        }
        all.Sort((a, b) => a.Pid.CompareTo(b.Pid));
        return all;
    }

    /// <summary>nr_threads: tasks from copy_process until release_task (zombies included).</summary>
    public int TaskCount => Machine.Tasks.Count;

    /// <summary>
    /// max_threads (/proc/sys/kernel/threads-max): fork_init sets mempages / (8 * THREAD_SIZE /
    /// PAGE_SIZE), at least 20, so task structures take at most half of memory.
    /// </summary>
    public int MaxThreads
    {
        get => _maxThreads;
        set => _maxThreads = value; // proc_dointvec: any int; fork compares nr_threads with it
    }

    private int _maxThreads;

    /// <summary>RLIMIT_NPROC of every process: max_threads / 2 at boot, as fork_init sets init's.</summary>
    public int RlimitNproc { get; set; }

    public TaskStruct? FindTask(int pid) => Machine.Tasks.Find(pid);

    // ------------------------------------------------------------------ running

    public bool IsDisposed { get; private set; }

    private Machine Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return Machine;
        }
    }

    public void Run(long durationNs) => Live.Run(durationNs);

    public void Run(TimeSpan duration) => Live.Run(duration);

    /// <summary>Run until simulated time `timeNs` (absolute, since boot).</summary>
    public void RunTo(long timeNs) => Live.RunTo(timeNs);

    public bool Step() => Live.Step();

    public bool RunUntil(Func<bool> predicate, long maxNs) => Live.RunUntil(predicate, maxNs);

    /// <summary>Run until nothing more can happen without outside input (see Machine.IsQuiescent).</summary>
    public bool RunUntilIdle(long maxNs = 3_600_000_000_000) => Live.RunUntilIdle(maxNs);

    /// <summary>Run until `t` has exited (zombie or reaped). True if it did within maxNs.</summary>
    public bool RunUntilExit(TaskStruct t, long maxNs = 3_600_000_000_000)
    {
        ArgumentNullException.ThrowIfNull(t);
        return Live.RunUntil(() => t.ExitState != 0, maxNs);
    }

    /// <summary>
    /// Shut the machine down: it can no longer run, and its programs' parked continuations are
    /// released to the garbage collector. Reading state (/proc, tasks, traces) still works.
    /// </summary>
    public void Dispose()
    {
        IsDisposed = true;
    }

    // ------------------------------------------------------------------ creating tasks

    /// <summary>Options for a process started from the host.</summary>
    public sealed record SpawnOptions
    {
        public int Uid { get; init; }
        public int Nice { get; init; }
        public CpuMask CpusAllowed { get; init; } = CpuMask.All;
        public SchedPolicy Policy { get; init; } = SchedPolicy.SCHED_NORMAL;
        public int RtPriority { get; init; }

        /// <summary>
        /// Start the program as an interactive shell would (default): it inherits the sleeping
        /// shell's interactivity bonus and runs first. False starts it with no sleep credit and a
        /// full timeslice, as a task created without a parent's history (a neutral start for
        /// experiments that want one).
        /// </summary>
        public bool FromShell { get; init; } = true;
    }

    /// <summary>
    /// Start a program as a new process, child of init, as a shell would fork and exec it. It
    /// is placed on the least loaded allowed CPU and runs from the current simulated time.
    /// </summary>
    public TaskStruct Spawn(string comm, UserProgram program, SpawnOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(program);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        options ??= new SpawnOptions();
        if (options.Nice is < -20 or > 19)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Nice, "Nice must be -20..19.");
        }
        bool rt = options.Policy is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR;
        if (rt ? options.RtPriority is < 1 or > 99 : options.RtPriority != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.RtPriority, "RtPriority must be 1..99 for FIFO/RR and 0 otherwise.");
        }
        if (options.CpusAllowed.And(Machine.OnlineMask).IsEmpty)
        {
            throw new ArgumentException("CpusAllowed contains no online CPU.", nameof(options));
        }
        Machine.EnterHostContext();
        var p = NewTask(comm, Init, isKernelThread: false);
        p.Uid = p.Euid = options.Uid;
        p.CpusAllowed = options.CpusAllowed;
        p.Pgrp = p.Session = p.Pid;
        GiveExecMm(p);
        SetProgram(p, program);
        if (rt)
        {
            // chrt from the shell: the policy is set before exec, so the shell's bonus is moot.
            Scheduler.InitTask(p, options.Nice);
            Scheduler.SetScheduler(p, options.Policy, options.RtPriority);
            Scheduler.WakeUpSpawned(p);
        }
        else if (options.FromShell)
        {
            Scheduler.SpawnFromShell(p, options.Nice);
        }
        else
        {
            Scheduler.InitTask(p, options.Nice);
            Scheduler.WakeUpSpawned(p);
        }
        Trace.OnSchedProcessFork(Now, Machine.ThisCpu.Id, Init, p);
        return p;
    }

    /// <summary>
    /// dup_task_struct + pid allocation: the task's memory (task_struct object, kernel stack) and
    /// pid, or null when memory or pids have run out (fork fails with -ENOMEM / -EAGAIN).
    /// </summary>
    private TaskStruct? TryNewTask(string comm, TaskStruct parent, bool isKernelThread, out Errno error)
    {
        var obj = TaskStructCachep.Alloc(Gfp.GFP_KERNEL);
        if (obj.IsNone)
        {
            error = Errno.ENOMEM;
            return null;
        }
        int stack = Memory.AllocPages(Gfp.GFP_KERNEL, THREAD_SIZE_ORDER);
        if (stack < 0)
        {
            TaskStructCachep.Free(obj);
            error = Errno.ENOMEM;
            return null;
        }
        int pid = Pids.Alloc();
        if (pid < 0)
        {
            Memory.FreePages(stack, THREAD_SIZE_ORDER);
            TaskStructCachep.Free(obj);
            error = Errno.EAGAIN;
            return null;
        }
        var p = Machine.AllocTask(pid, comm, isKernelThread);
        p.Parent = parent;
        p.RealParent = parent;
        p.GroupLeader = p;
        p.ExitSignal = Signals.SIGCHLD;
        p.ProcessData = new ProcessState(p) { TaskStructObj = obj, KernelStackPfn = stack };
        parent?.Children.Add(p);
        Machine.Tasks.Add(p);
        error = 0;
        return p;
    }

    private TaskStruct NewTask(string comm, TaskStruct parent, bool isKernelThread) =>
        TryNewTask(comm, parent, isKernelThread, out var e)
        ?? throw new InvalidOperationException($"Cannot create task {comm}: {(e == Errno.ENOMEM ? "out of memory" : "no free pid")}.");

    /// <summary>free_task: the kernel stack and the task_struct go back.</summary>
    private void FreeTaskMemory(TaskStruct p)
    {
        var ps = ProcessState.Of(p);
        if (ps.KernelStackPfn >= 0)
        {
            Memory.FreePages(ps.KernelStackPfn, THREAD_SIZE_ORDER);
            ps.KernelStackPfn = -1;
        }
        if (!ps.TaskStructObj.IsNone)
        {
            TaskStructCachep.Free(ps.TaskStructObj);
            ps.TaskStructObj = Kernel.Mm.Slab.SlabObject.None;
        }
    }

    /// <summary>
    /// Reverse-map query for teaching and tests: which PTEs (task, virtual address) map this frame,
    /// found the way this kernel's rmap mode finds them, with the PTEs visited and the simulated
    /// time that walk costs.
    /// </summary>
    public (IReadOnlyList<(TaskStruct? Task, long Addr)> Ptes, long PtesVisited, long CostNs) RmapQuery(int pfn)
    {
        if (pfn < 0 || pfn >= Memory.TotalPages)
        {
            throw new ArgumentOutOfRangeException(nameof(pfn), pfn, "No such page frame.");
        }
        var r = Memory.Rmap.FindPtes(pfn);
        var owners = Tasks.Where(t => MmOf(t) is not null).GroupBy(t => MmOf(t)!).ToDictionary(g => g.Key, g => g.First());
        return (r.Ptes.Select(e => (owners.GetValueOrDefault(e.Mm), e.Addr)).ToList(), r.PtesVisited, r.CostNs);
    }

    /// <summary>The address space of a task (null for kernel threads and exited tasks).</summary>
    public Kernel.Mm.Memory.MmStruct? MmOf(TaskStruct p) => Kernel.Mm.Memory.MmStruct.Of(p);

    private void GiveExecMm(TaskStruct p)
    {
        p.Mm = Kernel.Mm.Memory.MmStruct.CreateForExec(Memory)
            ?? throw new InvalidOperationException($"Cannot create the address space of {p}: out of memory.");
    }

    private void SetProgram(TaskStruct p, UserProgram program)
    {
        var handle = new UserTask(this, p);
        ProcessState.Of(p).Handle = handle;
        Machine.SetBody(p, () => program(handle));
    }

    /// <summary>The user-side handle of a task (null for kernel threads).</summary>
    public UserTask? HandleOf(TaskStruct p) => p.ProcessData is ProcessState ps ? ps.Handle : null;

    private void StartInit()
    {
        Machine.EnterHostContext();
        var init = NewTask("init", null!, isKernelThread: false);
        if (init.Pid != 1)
        {
            throw new KernelBug($"init got pid {init.Pid}");
        }
        init.Pgrp = init.Session = 1;
        init.Parent = init.RealParent = null;
        GiveExecMm(init);
        Init = init;
        Scheduler.InitTask(init, 0);
        SetProgram(init, InitProgram);
        Scheduler.WakeUpSpawned(init);
        Scheduler.StartKernelThreads();
    }

    /// <summary>kthread_create + wake_up_process: a kernel thread bound to `cpu` (or -1 for any).</summary>
    public TaskStruct KthreadCreate(string name, Func<TaskStruct, ValueTask> body, int cpu)
    {
        ArgumentNullException.ThrowIfNull(body);
        Machine.EnterHostContext();
        var p = NewTask(name, Init, isKernelThread: true);
        p.Pgrp = p.Session = 1;
        if (cpu >= 0)
        {
            p.CpusAllowed = CpuMask.Of(cpu);
        }
        Scheduler.InitTask(p, -5); // kthreads run at nice -5 in 2.6.20 (kthreadd_setup)
        Machine.SetBody(p, () => body(p));
        Scheduler.WakeUpSpawned(p);
        _kthreads.Add(p);
        return p;
    }

    /// <summary>init: reap children forever, sleeping until SIGCHLD when there are none.</summary>
    private static async ValueTask InitProgram(UserTask self)
    {
        self.Signal(Signals.SIGCHLD, _ => { });
        while (true)
        {
            var r = await self.Wait4(-1, WaitOptions.None);
            if (r.Pid == Errno.ECHILD.Ret())
            {
                await self.Pause();
            }
        }
    }
}
