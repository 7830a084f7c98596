// Linux 2.6.20 kernel/fork.c do_fork/copy_process, for the process-level clone flags. The child
// runs a new program (the emulator cannot duplicate a C# continuation), which is how clone(fn)
// works anyway: fork(child) returns the child's pid in the parent; the child starts in `child`.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;

namespace Kernel.Process;

public sealed partial class ProcessTable
{
    /// <summary>total_forks: processes created since boot (/proc/stat "processes").</summary>
    public long TotalForks { get; private set; }

    /// <summary>Clone flags accepted in this version; thread flags arrive with futexes.</summary>
    private const CloneFlags SupportedCloneFlags = CloneFlags.CSIGNAL | CloneFlags.CLONE_VM | CloneFlags.CLONE_FS
        | CloneFlags.CLONE_FILES | CloneFlags.CLONE_VFORK | CloneFlags.CLONE_PARENT | CloneFlags.CLONE_UNTRACED
        | CloneFlags.CLONE_DETACHED | CloneFlags.CLONE_STOPPED;

    /// <summary>user->processes: tasks of this real uid (counted only near the limit).</summary>
    private int CountProcessesOf(int uid)
    {
        int n = 0;
        foreach (var t in Machine.Tasks)
        {
            if (t.Uid == uid && !t.IsKernelThread)
            {
                n++;
            }
        }
        return n;
    }

    internal async ValueTask<long> DoFork(TaskStruct parent, CloneFlags flags, string comm, UserProgram program)
    {
        // copy_process's own checks (2.6.20): nonsensical combinations are EINVAL.
        if ((flags & (CloneFlags.CLONE_NEWNS | CloneFlags.CLONE_FS)) == (CloneFlags.CLONE_NEWNS | CloneFlags.CLONE_FS))
        {
            return Errno.EINVAL.Ret();
        }
        if ((flags & CloneFlags.CLONE_THREAD) != 0 && (flags & CloneFlags.CLONE_SIGHAND) == 0)
        {
            return Errno.EINVAL.Ret();
        }
        if ((flags & CloneFlags.CLONE_SIGHAND) != 0 && (flags & CloneFlags.CLONE_VM) == 0)
        {
            return Errno.EINVAL.Ret();
        }
        if ((flags & ~SupportedCloneFlags) != 0)
        {
            // Threads (CLONE_THREAD/SIGHAND/SETTID...) need futexes and shared mm: not yet modelled.
            return Errno.EINVAL.Ret();
        }
        int exitSignal = (int)(flags & CloneFlags.CSIGNAL);
        if (exitSignal > Signals._NSIG)
        {
            return Errno.EINVAL.Ret();
        }
        // copy_process: RLIMIT_NPROC per user (root exempt), then the system-wide max_threads.
        if (TaskCount >= RlimitNproc && parent.Uid != 0 && CountProcessesOf(parent.Uid) >= RlimitNproc)
        {
            return Errno.EAGAIN.Ret();
        }
        if (TaskCount >= MaxThreads)
        {
            return Errno.EAGAIN.Ret();
        }
        Machine.Charge(Options.Costs.ForkNs);
        var realParent = (flags & CloneFlags.CLONE_PARENT) != 0 && parent.Parent is not null ? parent.Parent : parent;
        // copy_mm: share the address space for CLONE_VM, else duplicate it copy-on-write.
        var parentMm = MmStruct.Of(parent);
        Kernel.Mm.Memory.MmStruct? mm = null;
        if (parentMm is not null)
        {
            if ((flags & CloneFlags.CLONE_VM) != 0)
            {
                parentMm.Get();
                mm = parentMm;
            }
            else
            {
                mm = await parentMm.DupAsync();
                if (mm is null)
                {
                    return Errno.ENOMEM.Ret();
                }
            }
        }
        var child = TryNewTask(comm, realParent, isKernelThread: false, out var error);
        if (child is null)
        {
            mm?.Put();
            return error.Ret();
        }
        child.Mm = mm;
        // copy_files: share the table for CLONE_FILES, else copy it.
        var parentFiles = ProcessState.Of(parent).Files;
        if (parentFiles is not null)
        {
            if ((flags & CloneFlags.CLONE_FILES) != 0)
            {
                parentFiles.Users++;
                ProcessState.Of(child).Files = parentFiles;
            }
            else
            {
                ProcessState.Of(child).Files = parentFiles.Dup();
            }
        }
        child.ExitSignal = exitSignal;
        child.Uid = parent.Uid;
        child.Euid = parent.Euid;
        child.Pgrp = parent.Pgrp;
        child.Session = parent.Session;
        child.SigBlocked = parent.SigBlocked;
        // copy_sighand / copy_signal: the child gets its own copy of the actions and its own
        // group state (CLONE_SIGHAND and CLONE_THREAD would share them; they come with threads).
        ProcessState.Of(child).Sighand = ProcessState.Of(parent).Sighand.Copy();
        Scheduler.SchedFork(child, parent, flags);
        TotalForks++;
        SetProgram(child, program);
        Trace.OnSchedProcessFork(Now, Machine.ThisCpu.Id, parent, child);
        Completion? vfork = null;
        if ((flags & CloneFlags.CLONE_VFORK) != 0)
        {
            vfork = new Completion("vfork");
            ProcessState.Of(child).VforkDone = vfork;
        }
        if ((flags & CloneFlags.CLONE_STOPPED) != 0)
        {
            child.State = TaskState.TASK_STOPPED;
            SendSignalLocked(child, Signals.SIGSTOP);
        }
        else
        {
            Scheduler.WakeUpNewTask(child, parent, flags);
        }
        if (vfork is not null)
        {
            // The vfork parent sleeps until the child exits (or execs, which is not modelled).
            await vfork.WaitForCompletion(Machine);
        }
        return child.Pid;
    }
}
