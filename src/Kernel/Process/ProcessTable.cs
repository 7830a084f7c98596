// The process table (kernel/fork.c, exit.c, signal.c, pid.c's users): creating and freeing tasks
// (dup_task_struct, the kernel stack, a pid), init and the kernel threads, fork, exit and wait,
// signals and sleeps, and the process-wide limits (max_threads, RLIMIT_NPROC). The task list and
// the pid hash it fills live in Core (Machine.Tasks); the programs reach this class through their
// UserTask handle, the machine through ITaskHooks. LinuxKernel owns one and wires it at boot.
using Kernel.Core;
using Kernel.Core.Sched;
using Kernel.Core.Tasks;
using Kernel.Core.Trace;
using Kernel.Mm;
using Kernel.Syscalls;

namespace Kernel.Process;

public sealed partial class ProcessTable : ITaskHooks
{
    private readonly LinuxKernel _k;
    private readonly List<TaskStruct> _kthreads = new();

    internal ProcessTable(LinuxKernel kernel)
    {
        _k = kernel;
        Machine = kernel.Machine;
        Scheduler = kernel.Scheduler;
        Memory = kernel.Memory;
        Options = kernel.Options;
        TaskStructCachep = Memory.KmemCacheCreate("task_struct", SizeofTaskStruct, Kernel.Mm.Slab.SlabFlags.SLAB_HWCACHE_ALIGN | Kernel.Mm.Slab.SlabFlags.SLAB_PANIC);
        // fork_init: THREAD_SIZE is 8 KiB (two pages), so mempages / 16.
        _maxThreads = (int)Math.Max(20, Memory.TotalPages / (8 * (MemoryLayout.PAGE_SIZE << THREAD_SIZE_ORDER) / MemoryLayout.PAGE_SIZE));
        RlimitNproc = _maxThreads / 2;
    }

    public Machine Machine { get; }

    public IScheduler Scheduler { get; }

    public MemorySubsystem Memory { get; }

    public KernelOptions Options { get; }

    private Tracepoints Trace => Machine.Trace;

    private long Now => Machine.Now;

    private PidMap Pids => Machine.Tasks.Pids;

    /// <summary>sizeof(struct task_struct) on 2.6.20 i386 (approximately: config dependent).</summary>
    public const int SizeofTaskStruct = 1312;

    /// <summary>THREAD_SIZE: the 8 KiB kernel stack (order 1) of every task (no CONFIG_4KSTACKS).</summary>
    public const int THREAD_SIZE_ORDER = 1;

    /// <summary>task_struct_cachep.</summary>
    public Kernel.Mm.Slab.KmemCache TaskStructCachep { get; }

    /// <summary>init (pid 1): reaps orphans, parent of every spawned process.</summary>
    public TaskStruct Init { get; private set; } = null!;

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

    internal TaskStruct NewTask(string comm, TaskStruct parent, bool isKernelThread) =>
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


    internal void GiveExecMm(TaskStruct p)
    {
        p.Mm = Kernel.Mm.Memory.MmStruct.CreateForExec(Memory)
            ?? throw new InvalidOperationException($"Cannot create the address space of {p}: out of memory.");
    }

    internal void SetProgram(TaskStruct p, UserProgram program)
    {
        var handle = new UserTask(_k, p);
        ProcessState.Of(p).Handle = handle;
        Machine.SetBody(p, () => program(handle));
    }


    internal void StartInit()
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

    /// <summary>
    /// kthread_create + wake_up_process: a kernel thread bound to `cpu` (or -1 for any). With
    /// `wake` false it is left asleep (TASK_INTERRUPTIBLE) until its first wake_up_process, as a
    /// thread made at boot that went to sleep long before any program ran.
    /// </summary>
    public TaskStruct KthreadCreate(string name, Func<TaskStruct, ValueTask> body, int cpu, bool wake = true)
    {
        ArgumentNullException.ThrowIfNull(body);
        Machine.EnterHostContext();
        var p = NewTask(name, Init, isKernelThread: true);
        p.Pgrp = p.Session = 1;
        if (cpu >= 0)
        {
            p.CpusAllowed = CpuMask.Of(cpu); // kthread_bind
            p.Flags |= TaskFlags.PF_THREAD_BOUND;
        }
        Scheduler.InitTask(p, -5); // kthreads run at nice -5 in 2.6.20 (kthreadd_setup)
        Machine.SetBody(p, () => body(p));
        if (wake)
        {
            Scheduler.WakeUpSpawned(p);
        }
        else
        {
            p.State = TaskState.TASK_INTERRUPTIBLE;
        }
        _kthreads.Add(p);
        return p;
    }

    /// <summary>init: reap children forever, sleeping until SIGCHLD when there are none.</summary>
    private static async ValueTask InitProgram(UserTask self)
    {
        self.Signal(Signals.SIGCHLD, _ => { });
        while (true)
        {
            // __WALL: init reaps every child, also the "clone" children of CLONE_PARENT that
            // signal it with something other than SIGCHLD.
            var r = await self.Wait4(-1, WaitOptions.__WALL);
            if (r.Pid == Errno.ECHILD.Ret())
            {
                await self.Pause();
            }
        }
    }
}
