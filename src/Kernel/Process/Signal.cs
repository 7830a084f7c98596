// Linux 2.6.20 kernel/signal.c, reduced to what processes need here: kill permission checks,
// generation (ignored signals are dropped at send time, SIGCONT/stop signals cancel each other
// across the group, SIGKILL wakes even stopped tasks), signals to one thread (tkill, faults) or
// to the group (kill; SignalGroup.cs), and delivery on the way back to user mode (do_signal):
// terminate, stop, continue, ignore, or run the program's handler.
using Kernel.Core;
using Kernel.Core.Sched;
using Kernel.Core.Tasks;
using Kernel.Process;

namespace Kernel.Process;

public sealed partial class ProcessTable
{
    /// <summary>check_kill_permission: root, or a matching real/effective uid.</summary>
    private static bool MaySignal(TaskStruct sender, TaskStruct target) =>
        sender.Euid == 0 || sender.Euid == target.Uid || sender.Uid == target.Uid || sender.Euid == target.Euid;

    /// <summary>sys_kill: pid &gt; 0 one process, 0 the caller's group, -1 everyone it may signal, &lt; -1 group -pid.</summary>
    internal long SysKill(TaskStruct sender, int pid, int sig)
    {
        if (sig < 0 || sig > Signals._NSIG)
        {
            return Errno.EINVAL.Ret();
        }
        if (pid > 0)
        {
            var t = _k.FindTask(pid); // a zombie is still found until it is reaped
            if (t is null)
            {
                return Errno.ESRCH.Ret();
            }
            return KillOne(sender, t, sig, group: true);
        }
        // kill_pg_info and kill -1 visit thread group leaders (for_each_process): one send per group.
        IEnumerable<TaskStruct> targets;
        if (pid == -1)
        {
            // Every process but init and the caller's own.
            targets = _k.Tasks.Where(t => t.GroupLeader == t && t.Pid > 1 && t.Tgid != sender.Tgid && !t.IsKernelThread).ToArray();
        }
        else
        {
            int pgrp = pid == 0 ? sender.Pgrp : -pid;
            targets = _k.Tasks.Where(t => t.GroupLeader == t && t.Pgrp == pgrp && !t.IsKernelThread).ToArray();
        }
        long result = Errno.ESRCH.Ret();
        bool any = false;
        foreach (var t in targets)
        {
            long r = KillOne(sender, t, sig, group: true);
            if (!any || r == 0)
            {
                result = r;
            }
            any = true;
        }
        return result;
    }

    /// <summary>do_tkill: one thread, with kill's checks.</summary>
    internal long KillThread(TaskStruct sender, TaskStruct t, int sig)
    {
        if (sig < 0 || sig > Signals._NSIG)
        {
            return Errno.EINVAL.Ret();
        }
        return KillOne(sender, t, sig, group: false);
    }

    /// <summary>group_send_sig_info (kill) or, for tkill/tgkill, specific_send_sig_info after handle_stop_signal.</summary>
    private long KillOne(TaskStruct sender, TaskStruct t, int sig, bool group)
    {
        if (!MaySignal(sender, t))
        {
            return Errno.EPERM.Ret();
        }
        if (sig == 0 || t.ExitState != 0)
        {
            return 0; // a zombie's signal is queued to nobody: success, no effect
        }
        if (group)
        {
            GroupSendSignalLocked(t, sig);
        }
        else
        {
            SendSignalLocked(t, sig);
        }
        return 0;
    }

    /// <summary>force_sig_info: a synchronous signal (SIGSEGV, SIGKILL from the fault path): unblocked and not ignorable.</summary>
    void ITaskHooks.ForceSig(TaskStruct p, int sig) => ForceSignal(p, sig);

    internal void ForceSignal(TaskStruct t, int sig)
    {
        if (ProcessState.Of(t).Sighand.Action[sig] == SignalDisposition.Ignore || (t.SigBlocked & Signals.Mask(sig)) != 0)
        {
            ProcessState.Of(t).Sighand.Action[sig] = SignalDisposition.Default;
            t.SigBlocked &= ~Signals.Mask(sig);
        }
        t.SigPending |= Signals.Mask(sig);
        RecalcSigpending(t);
    }

    /// <summary>Send a signal from the host side (a harness killing a process): as kill(2), to t's thread group.</summary>
    public void SendSignal(TaskStruct t, int sig)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (sig is < 1 or > Signals._NSIG)
        {
            throw new ArgumentOutOfRangeException(nameof(sig), sig, "Signal must be 1..64.");
        }
        Machine.EnterHostContext();
        GroupSendSignalLocked(t, sig);
    }

    private bool SigIgnored(TaskStruct t, int sig)
    {
        var d = ProcessState.Of(t).Sighand.Action[sig];
        if (Signals.Unblockable(sig))
        {
            return false;
        }
        if ((t.SigBlocked & Signals.Mask(sig)) != 0)
        {
            return false; // a blocked signal stays pending whatever its disposition
        }
        return d == SignalDisposition.Ignore || (d == SignalDisposition.Default && Signals.DefaultIgnore(sig));
    }

    /// <summary>A signal to one thread: handle_stop_signal (group-wide), then specific_send_sig_info.</summary>
    internal void SendSignalLocked(TaskStruct t, int sig)
    {
        if (t.ExitState != 0 || t.IsKernelThread)
        {
            return; // kernel threads ignore signals unless they allow them (none here do)
        }
        HandleStopSignal(t, sig);
        if (SigIgnored(t, sig))
        {
            return;
        }
        t.SigPending |= Signals.Mask(sig);
        RecalcSigpending(t);
        if ((t.SigBlocked & Signals.Mask(sig)) == 0)
        {
            SignalWakeUp(t, sig == Signals.SIGKILL);
        }
    }

    /// <summary>signal_wake_up: wake an interruptible sleep (with `resume`, a stopped task too), or kick the CPU it runs on.</summary>
    private void SignalWakeUp(TaskStruct t, bool resume)
    {
        var mask = TaskState.TASK_INTERRUPTIBLE;
        if (resume)
        {
            mask |= TaskState.TASK_STOPPED | TaskState.TASK_TRACED;
        }
        if (!Machine.WakeUpState(t, mask))
        {
            Machine.KickProcess(t);
        }
    }

    /// <summary>recalc_sigpending_tsk: TIF_SIGPENDING while the thread's own or its group's pending set has an unblocked signal.</summary>
    internal static void RecalcSigpending(TaskStruct t)
    {
        ulong shared = t.ProcessData is null ? 0 : ProcessState.Of(t).Signal.SharedPending;
        if (((t.SigPending | shared) & ~t.SigBlocked) != 0)
        {
            t.ThreadFlags |= ThreadInfoFlags.TIF_SIGPENDING;
        }
        else
        {
            t.ThreadFlags &= ~ThreadInfoFlags.TIF_SIGPENDING;
        }
    }

    /// <summary>ITaskHooks: do_notify_resume -> do_signal, on the way back to user mode.</summary>
    public void DoNotifyResume(TaskStruct p)
    {
        while (true)
        {
            // dequeue_signal: the thread's own signals first, then the group's.
            var group = ProcessState.Of(p).Signal;
            ulong own = p.SigPending & ~p.SigBlocked;
            ulong ready = own != 0 ? own : group.SharedPending & ~p.SigBlocked;
            if (ready == 0)
            {
                RecalcSigpending(p);
                return;
            }
            int sig = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
            if (own != 0)
            {
                p.SigPending &= ~Signals.Mask(sig);
            }
            else
            {
                group.SharedPending &= ~Signals.Mask(sig);
            }
            RecalcSigpending(p);
            var disp = Signals.Unblockable(sig) ? SignalDisposition.Default : ProcessState.Of(p).Sighand.Action[sig];
            if (disp == SignalDisposition.Ignore)
            {
                continue;
            }
            if (disp == SignalDisposition.Handler)
            {
                var handler = ProcessState.Of(p).Sighand.Handlers[sig];
                ProcessState.Of(p).HandlerRan = true;
                if (handler is not null)
                {
                    Machine.RunUserHandler(p, () => handler(sig));
                }
                continue;
            }
            if (Signals.DefaultIgnore(sig))
            {
                continue;
            }
            if (p == Init)
            {
                // get_signal_to_deliver: "Init gets no signals it doesn't want" (even SIGKILL).
                continue;
            }
            if (Signals.IsStop(sig))
            {
                DoSignalStop(p, sig);
                return;
            }
            // Default action: the whole thread group terminates (with a core flag for the
            // core-dumping signals): do_group_exit.
            DoGroupExit(p, sig | (Signals.DefaultCore(sig) ? 0x80 : 0));
            return;
        }
    }

    /// <summary>do_signal_stop: TASK_STOPPED, tell the parent, give up the CPU.</summary>
    private void DoSignalStop(TaskStruct p, int sig)
    {
        var ps = ProcessState.Of(p);
        ps.Signal.StopSignalToReport = sig;
        ps.Signal.ContinuedToReport = false;
        p.State = TaskState.TASK_STOPPED;
        if (p.Parent is { } parent)
        {
            if (ProcessState.Of(parent).Sighand.Action[Signals.SIGCHLD] == SignalDisposition.Handler)
            {
                GroupSendSignalLocked(parent, Signals.SIGCHLD);
            }
            WakeParent(parent);
        }
        Machine.ScheduleFromWorkLoop(p);
    }
}
