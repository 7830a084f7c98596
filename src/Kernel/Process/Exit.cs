// Linux 2.6.20 kernel/exit.c: do_exit with exit_notify (reparenting to init, SIGCHLD to the
// parent, zombie or autoreap), release_task, and wait4 (do_wait) with its status encoding.
using Kernel.Core;
using Kernel.Core.Sched;
using Kernel.Core.Tasks;
using Kernel.Process;

namespace Kernel.Process;

public sealed partial class ProcessTable
{
    /// <summary>ITaskHooks: a program returned (exit(code)) or threw (killed by killSignal).</summary>
    void ITaskHooks.BodyReturned(TaskStruct p, int exitCode, int killSignal) =>
        DoExit(p, killSignal != 0 ? killSignal | (Signals.DefaultCore(killSignal) ? 0x80 : 0) : (exitCode & 0xff) << 8);

    /// <summary>do_exit: `status` is the wait4 status word. The task never runs again.</summary>
    internal void DoExit(TaskStruct p, int status)
    {
        if (p == Init)
        {
            throw new KernelBug("Kernel panic - not syncing: Attempted to kill init!", Machine.DumpState(p));
        }
        if ((p.Flags & TaskFlags.PF_EXITING) != 0)
        {
            throw new KernelBug($"do_exit: {p} is already exiting", Machine.DumpState(p));
        }
        p.Flags |= TaskFlags.PF_EXITING;
        if ((status & 0x7f) != 0)
        {
            p.Flags |= TaskFlags.PF_SIGNALED;
        }
        Machine.Charge(Options.Costs.ExitNs);
        Trace.OnSchedProcessExit(Now, Machine.ThisCpu.Id, p);
        var exitPs = ProcessState.Of(p);
        if (exitPs.Signal.GroupExit)
        {
            status = exitPs.Signal.GroupExitCode; // do_group_exit: every thread reports the group's code
        }
        p.ExitCode = status;
        var exitMm = Kernel.Mm.Memory.MmStruct.Of(p);
        // exit_robust_list: robust mutexes this thread holds are marked FUTEX_OWNER_DIED.
        if (exitPs.RobustList != 0 && exitMm is not null)
        {
            _k.Futexes.ExitRobustList(exitMm, p, exitPs.RobustList);
        }
        // mm_release: a thread that shares its mm zeroes its clear_child_tid word and wakes one
        // waiter on it (a join), unless a signal killed it.
        if (exitPs.ClearChildTid != 0 && (p.Flags & TaskFlags.PF_SIGNALED) == 0 && exitMm is { Users: > 1 })
        {
            long tid = exitPs.ClearChildTid;
            exitPs.ClearChildTid = 0;
            if (Kernel.Mm.Arch.Uaccess.PutUser(exitMm, tid, 0) == 0)
            {
                _k.Futexes.Wake(exitMm, tid, fshared: true, 1);
            }
        }
        // exit_mm: drop the address space (the last user frees it).
        exitMm?.Put();
        p.Mm = null;
        // exit_files: the last user of the table closes every descriptor.
        if (exitPs.Files is { } files && --files.Users == 0)
        {
            foreach (var f in files.Fds)
            {
                if (f is not null)
                {
                    f.Fput();
                }
            }
            files.Fds.Clear();
        }
        exitPs.Files = null;
        ExitNotify(p);
        // exit_pi_state_list: contended PI futexes still held go to their top waiters.
        if (exitPs.PiStateList is { Count: > 0 })
        {
            _k.Futexes.ExitPiStateList(p);
        }
        // exit_io_context: AS and CFQ forget the task (CFQ's queues go once their requests are done).
        Kernel.Block.IoContext.Exit(p);
        var ps = ProcessState.Of(p);
        ps.VforkDone?.Complete();
        p.State = TaskState.TASK_DEAD;
        p.SigPending = 0;
        p.ThreadFlags &= ~ThreadInfoFlags.TIF_SIGPENDING;
        Machine.ScheduleDead(p);
    }

    /// <summary>exit_notify: hand children to init, tell the parent, become a zombie (or be reaped).</summary>
    private void ExitNotify(TaskStruct p)
    {
        // forget_original_parent: orphans go to the child reaper (init).
        foreach (var child in p.Children.ToArray())
        {
            p.Children.Remove(child);
            child.Parent = Init;
            child.RealParent = Init;
            // reparent_thread: "We don't want people slaying init" - any exit signal but -1 becomes SIGCHLD.
            if (child.ExitSignal != -1)
            {
                child.ExitSignal = Signals.SIGCHLD;
            }
            Init.Children.Add(child);
            if (child.ExitState == TaskState.EXIT_ZOMBIE)
            {
                DoNotifyParent(child);
            }
        }
        var parent = p.Parent!;
        if (p.ExitSignal == -1)
        {
            // A thread (not the leader) is reaped as it exits; if it was the last one and the
            // leader is already a zombie, the leader's parent can now be told (release_task).
            p.ExitState = TaskState.EXIT_DEAD;
            var leader = p.GroupLeader;
            ReleaseTask(p);
            if (leader is not null && leader != p && leader.ExitState == TaskState.EXIT_ZOMBIE && ThreadGroupEmpty(leader))
            {
                DoNotifyParent(leader);
            }
            return;
        }
        if (!ThreadGroupEmpty(p))
        {
            // The leader of a group with live threads stays a zombie nobody may reap
            // (delay_group_leader) until its last thread is released.
            p.ExitState = TaskState.EXIT_ZOMBIE;
            return;
        }
        // A parent that ignores SIGCHLD never sees zombies (do_notify_parent sets exit_signal -1).
        if (ProcessState.Of(parent).Sighand.Action[Signals.SIGCHLD] == SignalDisposition.Ignore)
        {
            p.ExitState = TaskState.EXIT_DEAD;
            ReleaseTask(p);
            WakeParent(parent);
        }
        else
        {
            p.ExitState = TaskState.EXIT_ZOMBIE;
            DoNotifyParent(p);
        }
    }

    /// <summary>
    /// thread_group_empty: no task but `leader` is left in its thread group. The group's
    /// signal_struct counts the tasks not yet released, so this is O(1) on every exit and wait.
    /// </summary>
    internal static bool ThreadGroupEmpty(TaskStruct leader) => ProcessState.Of(leader).Signal.Count <= 1;

    /// <summary>The other live threads of p's group.</summary>
    internal List<TaskStruct> OtherThreads(TaskStruct p)
    {
        var list = new List<TaskStruct>();
        foreach (var t in Machine.Tasks)
        {
            if (t != p && t.Tgid == p.Tgid && t.ExitState == 0)
            {
                list.Add(t);
            }
        }
        return list;
    }

    /// <summary>
    /// do_group_exit: the whole thread group dies with `status` (exit_group, or a fatal signal to
    /// any thread): mark the group, SIGKILL the other threads (zap_other_threads), exit.
    /// </summary>
    internal void DoGroupExit(TaskStruct p, int status)
    {
        var sig = ProcessState.Of(p).Signal;
        if (!sig.GroupExit)
        {
            sig.GroupExit = true;
            sig.GroupExitCode = status;
            if (sig.Count > 1)
            {
                foreach (var t in OtherThreads(p))
                {
                    SendSignalLocked(t, Signals.SIGKILL);
                }
            }
        }
        DoExit(p, sig.GroupExitCode);
    }

    /// <summary>do_notify_parent: exit signal to the parent and wake its wait4.</summary>
    private void DoNotifyParent(TaskStruct p)
    {
        var parent = p.Parent!;
        if (p.ExitSignal > 0)
        {
            GroupSendSignalLocked(parent, p.ExitSignal); // the exit signal goes to the parent's group
        }
        WakeParent(parent);
    }

    private void WakeParent(TaskStruct parent)
    {
        // __wake_up_parent: wake_up_interruptible_sync on the parent's wait_chldexit.
        ProcessState.Of(parent).Signal.WaitChldexit.WakeUp(TaskState.TASK_INTERRUPTIBLE, 1, sync: true);
    }

    /// <summary>release_task: the last of a task: timeslice back to the parent, pid freed.</summary>
    private void ReleaseTask(TaskStruct p)
    {
        Scheduler.SchedExit(p);
        p.ExitState = TaskState.EXIT_DEAD;
        var parent = p.Parent;
        if (parent is not null)
        {
            parent.Children.Remove(p);
            parent.Cutime += p.Utime + p.Cutime;
            parent.Cstime += p.Stime + p.Cstime;
        }
        Machine.Tasks.Remove(p); // __unhash_process frees the pid
        ProcessState.Of(p).Signal.Count--; // and takes it off its thread group
        FreeTaskMemory(p);
    }

    /// <summary>
    /// do_wait for wait4: reap a zombie child (or report a stop/continue), sleep if there are
    /// children but none ready, -ECHILD if there are none.
    /// </summary>
    internal async ValueTask<WaitResult> DoWait(TaskStruct self, int pid, WaitOptions options)
    {
        const WaitOptions valid = WaitOptions.WNOHANG | WaitOptions.WUNTRACED | WaitOptions.WCONTINUED
            | WaitOptions.__WNOTHREAD | WaitOptions.__WALL | WaitOptions.__WCLONE;
        if ((options & ~valid) != 0)
        {
            return new WaitResult(Errno.EINVAL.Ret(), 0);
        }
        var wq = ProcessState.Of(self).Signal.WaitChldexit;
        while (true)
        {
            bool anyEligible = false;
            wq.PrepareToWait(Machine, TaskState.TASK_INTERRUPTIBLE);
            foreach (var child in self.Children)
            {
                if (!Eligible(self, child, pid, options))
                {
                    continue;
                }
                anyEligible = true;
                if (child.ExitState == TaskState.EXIT_ZOMBIE && ThreadGroupEmpty(child))
                {
                    wq.FinishWait(Machine);
                    int status = child.ExitCode;
                    int cpid = child.Pid;
                    ReleaseTask(child);
                    return new WaitResult(cpid, status);
                }
                var cps = ProcessState.Of(child);
                if ((options & WaitOptions.WUNTRACED) != 0 && child.State == TaskState.TASK_STOPPED && cps.Signal.StopSignalToReport != 0)
                {
                    wq.FinishWait(Machine);
                    int sig = cps.Signal.StopSignalToReport;
                    cps.Signal.StopSignalToReport = 0;
                    return new WaitResult(child.Pid, (sig << 8) | 0x7f);
                }
                if ((options & WaitOptions.WCONTINUED) != 0 && cps.Signal.ContinuedToReport)
                {
                    wq.FinishWait(Machine);
                    cps.Signal.ContinuedToReport = false;
                    return new WaitResult(child.Pid, 0xffff);
                }
            }
            if (!anyEligible)
            {
                wq.FinishWait(Machine);
                return new WaitResult(Errno.ECHILD.Ret(), 0);
            }
            if ((options & WaitOptions.WNOHANG) != 0)
            {
                wq.FinishWait(Machine);
                return new WaitResult(0, 0);
            }
            if (Machine.SignalPending(self))
            {
                wq.FinishWait(Machine);
                return new WaitResult(Errno.ERESTARTSYS.Ret(), 0);
            }
            await Machine.Schedule();
            wq.FinishWait(Machine);
        }
    }

    /// <summary>eligible_child: pid selects one child, 0 the caller's group, -1 any, &lt;-1 group -pid.</summary>
    private static bool Eligible(TaskStruct self, TaskStruct child, int pid, WaitOptions options)
    {
        if (child.ExitState == TaskState.EXIT_DEAD)
        {
            return false;
        }
        if (pid > 0 && child.Pid != pid)
        {
            return false;
        }
        if (pid == 0 && child.Pgrp != self.Pgrp)
        {
            return false;
        }
        if (pid < -1 && child.Pgrp != -pid)
        {
            return false;
        }
        // Detached threads (exit_signal -1) are never waited for; a leader whose threads live on
        // is not reaped yet (delay_group_leader).
        if (child.ExitSignal == -1)
        {
            return false;
        }
        // A "clone" child signals something other than SIGCHLD: waited for only with __WCLONE/__WALL.
        bool isClone = child.ExitSignal != Signals.SIGCHLD;
        if ((options & WaitOptions.__WALL) == 0 && isClone != ((options & WaitOptions.__WCLONE) != 0))
        {
            return false;
        }
        return true;
    }
}
