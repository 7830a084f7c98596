// The composition root: one emulated Linux 2.6.20 kernel. It boots and wires the machine (clock,
// CPUs, events), the scheduler, the memory subsystem, the process table (fork, exit, wait,
// signals: Process/ProcessTable.cs), /proc and the mount table, and is the facade a harness
// drives: Spawn, Run, the read-only views.
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

public sealed partial class LinuxKernel : IDisposable
{
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
        Memory = new MemorySubsystem(Machine, options.Memory);
        Machine.EnterHostContext();
        Processes = new ProcessTable(this);
        Machine.SetHooks(Processes);
        Proc = new ProcFs(this);
        Mounts = new Fs.MountTable(Memory.Shmem, Machine.ProcFiles);
        // /dev appears with the first disk (as udev makes the nodes), so a diskless kernel's mounts are unchanged.
        Block.DiskAttached += _ =>
        {
            if (!Mounts.Mounts.Any(mnt => mnt.Point == "/dev"))
            {
                Mounts.Mount("/dev", new Kernel.Block.DevFs(Block));
            }
        };
        Futexes = new Futex.FutexTable(Machine);
        Pipes = new Fs.PipeFileOperations(this);
    }

    /// <summary>pipefs: the operations every pipe shares (do_pipe makes the inodes).</summary>
    internal Fs.PipeFileOperations Pipes { get; }

    /// <summary>Boot a kernel: CPUs and idle tasks, init (pid 1), the migration threads.</summary>
    public static LinuxKernel Boot(KernelOptions? options = null)
    {
        options ??= new KernelOptions();
        options.Validate();
        var k = new LinuxKernel(options);
        k.Processes.StartInit();
        k.Memory.Reclaim?.StartKswapd();
        return k;
    }

    public KernelOptions Options { get; }

    public Machine Machine { get; }

    public IScheduler Scheduler { get; }

    public PidMap Pids => Machine.Tasks.Pids;

    /// <summary>Physical memory: mem_map, zones and the page allocator (pg_data_t of node 0).</summary>
    public MemorySubsystem Memory { get; }

    /// <summary>The process table: task creation, fork, exit, wait, signals, init and the kernel threads.</summary>
    public ProcessTable Processes { get; }

    /// <summary>task_struct_cachep.</summary>
    public Kernel.Mm.Slab.KmemCache TaskStructCachep => Processes.TaskStructCachep;

    public ProcFs Proc { get; }

    /// <summary>The futex hash table (kernel/futex.c).</summary>
    public Futex.FutexTable Futexes { get; }

    /// <summary>The mount table: tmpfs at "/", and whatever a harness or a file system mounts.</summary>
    public Fs.MountTable Mounts { get; }

    /// <summary>The block layer: attach disks, switch elevators, read their statistics.</summary>
    public Kernel.Block.BlockLayer Block => Kernel.Block.BlockLayer.Of(Memory);

    public Tracepoints Trace => Machine.Trace;

    /// <summary>init (pid 1): reaps orphans, parent of every spawned process.</summary>
    public TaskStruct Init => Processes.Init;

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

    /// <summary>max_threads (/proc/sys/kernel/threads-max), on the process table.</summary>
    public int MaxThreads
    {
        get => Processes.MaxThreads;
        set => Processes.MaxThreads = value;
    }

    /// <summary>RLIMIT_NPROC of every process, on the process table.</summary>
    public int RlimitNproc
    {
        get => Processes.RlimitNproc;
        set => Processes.RlimitNproc = value;
    }

    /// <summary>RLIMIT_NOFILE of every process: the fd table's size limit (no setrlimit raises it); open, pipe and dup give EMFILE past it.</summary>
    public const int RlimitNofile = Kernel.Process.FilesStruct.NrOpenDefault;

    /// <summary>total_forks: processes created since boot (/proc/stat "processes").</summary>
    public long TotalForks => Processes.TotalForks;

    /// <summary>Send a signal from the host (as kill(2) from outside would, without permission checks).</summary>
    public void SendSignal(TaskStruct t, int sig) => Processes.SendSignal(t, sig);

    /// <summary>kthread_create + wake_up_process: a kernel thread bound to `cpu` (or -1 for any).</summary>
    public TaskStruct KthreadCreate(string name, Func<TaskStruct, ValueTask> body, int cpu, bool wake = true) => Processes.KthreadCreate(name, body, cpu, wake);

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
    /// released to the garbage collector; the disks' stores are disposed (image files closed and
    /// unlocked). Reading state (/proc, tasks, traces) still works.
    /// </summary>
    public void Dispose()
    {
        IsDisposed = true;
        Kernel.Block.BlockLayer.Existing(Memory)?.DisposeStores(); // image files are closed and unlocked
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
        var p = Processes.NewTask(comm, Init, isKernelThread: false);
        p.Uid = p.Euid = options.Uid;
        p.CpusAllowed = options.CpusAllowed;
        p.Pgrp = p.Session = p.Pid;
        Processes.GiveExecMm(p);
        Processes.SetProgram(p, program);
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

    /// <summary>The user-side handle of a task (null for kernel threads).</summary>
    public UserTask? HandleOf(TaskStruct p) => p.ProcessData is ProcessState ps ? ps.Handle : null;
}
