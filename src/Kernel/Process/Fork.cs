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

    /// <summary>Clone flags accepted in this version (CLONE_SETTLS and CLONE_SYSVSEM are accepted and have nothing to do here).</summary>
    private const CloneFlags SupportedCloneFlags = CloneFlags.CSIGNAL | CloneFlags.CLONE_VM | CloneFlags.CLONE_FS
        | CloneFlags.CLONE_FILES | CloneFlags.CLONE_VFORK | CloneFlags.CLONE_PARENT | CloneFlags.CLONE_UNTRACED
        | CloneFlags.CLONE_DETACHED | CloneFlags.CLONE_STOPPED | CloneFlags.CLONE_SIGHAND | CloneFlags.CLONE_THREAD
        | CloneFlags.CLONE_PARENT_SETTID | CloneFlags.CLONE_CHILD_SETTID | CloneFlags.CLONE_CHILD_CLEARTID
        | CloneFlags.CLONE_SETTLS | CloneFlags.CLONE_SYSVSEM;

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

    internal async ValueTask<long> DoFork(TaskStruct parent, CloneFlags flags, string comm, UserProgram program, long parentTid = 0, long childTid = 0)
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
            return Errno.EINVAL.Ret(); // CLONE_PTRACE, CLONE_NEWNS: not modelled
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
        // copy_process: a thread, like a CLONE_PARENT child, is a child of the caller's parent.
        var realParent = (flags & (CloneFlags.CLONE_PARENT | CloneFlags.CLONE_THREAD)) != 0 && parent.Parent is not null ? parent.Parent : parent;
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
        var cps = ProcessState.Of(child);
        var pps = ProcessState.Of(parent);
        if ((flags & CloneFlags.CLONE_THREAD) != 0)
        {
            child.JoinThreadGroup(parent.GroupLeader ?? parent);
            cps.Signal = pps.Signal; // copy_signal: a thread shares the group's signal_struct
            pps.Signal.Count++;
        }
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
        // A thread is reaped as it exits (exit_signal -1); others signal their parent.
        child.ExitSignal = (flags & CloneFlags.CLONE_THREAD) != 0 ? -1 : exitSignal;
        if ((flags & CloneFlags.CLONE_CHILD_CLEARTID) != 0)
        {
            cps.ClearChildTid = childTid;
        }
        child.Uid = parent.Uid;
        child.IoPrio = parent.IoPrio;
        child.OomKillAdj = parent.OomKillAdj;
        child.Euid = parent.Euid;
        child.Pgrp = parent.Pgrp;
        child.Session = parent.Session;
        child.SigBlocked = parent.SigBlocked;
        // copy_sighand: CLONE_SIGHAND shares the actions, else the child gets its own copy.
        if ((flags & CloneFlags.CLONE_SIGHAND) != 0)
        {
            cps.Sighand = pps.Sighand;
        }
        else
        {
            cps.Sighand = pps.Sighand.Copy();
        }
        // CLONE_CHILD_SETTID (schedule_tail's put_user in Linux) and CLONE_PARENT_SETTID (do_fork):
        // the tid lands in the child's and the parent's memory.
        if ((flags & CloneFlags.CLONE_CHILD_SETTID) != 0 && mm is not null)
        {
            Kernel.Mm.Arch.Uaccess.PutUser(mm, childTid, child.Pid);
        }
        if ((flags & CloneFlags.CLONE_PARENT_SETTID) != 0 && parentMm is not null)
        {
            Kernel.Mm.Arch.Uaccess.PutUser(parentMm, parentTid, child.Pid);
        }
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
