// Linux 2.6.20 kernel/signal.c, the thread-group side: kill(2) queues a signal on the group's
// shared_pending set (__group_send_sig_info) and picks one thread to wake for it
// (__group_complete_signal: the target thread if it wants the signal, else round-robin from
// signal->curr_target); a signal whose default action kills starts the group exit at once, SIGKILL
// to every thread. handle_stop_signal works across the group: a stop signal cancels SIGCONT
// everywhere, SIGCONT cancels every pending stop and wakes every stopped thread.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Process;

public sealed partial class ProcessTable
{
    /// <summary>__group_send_sig_info: queue `sig` for t's thread group and wake a thread to take it.</summary>
    internal void GroupSendSignalLocked(TaskStruct t, int sig)
    {
        if (t.ExitState != 0 || t.IsKernelThread)
        {
            return;
        }
        HandleStopSignal(t, sig);
        if (SigIgnored(t, sig))
        {
            return;
        }
        var group = ProcessState.Of(t).Signal;
        ulong mask = Signals.Mask(sig);
        if ((group.SharedPending & mask) != 0)
        {
            return; // LEGACY_QUEUE: a non-RT signal already queued is not queued twice
        }
        group.SharedPending |= mask;
        GroupCompleteSignal(t, sig, group);
    }

    /// <summary>__group_complete_signal: find a thread that wants the signal; a fatal one takes the whole group down.</summary>
    private void GroupCompleteSignal(TaskStruct p, int sig, SignalStruct group)
    {
        TaskStruct? t;
        if (WantsSignal(p, sig))
        {
            t = p;
        }
        else if (group.Count <= 1)
        {
            RecalcSigpending(p); // one thread, which takes the signal when it unblocks it
            return;
        }
        else
        {
            var threads = ThreadGroup(p);
            int start = group.CurrTarget is { } ct && threads.IndexOf(ct) is >= 0 and var i ? i : threads.IndexOf(p);
            t = null;
            for (int n = 0; n < threads.Count; n++)
            {
                var candidate = threads[(start + n) % threads.Count];
                if (WantsSignal(candidate, sig))
                {
                    t = candidate;
                    break;
                }
            }
            if (t is null)
            {
                return; // no thread to wake now: an eligible one sees the signal when it next checks
            }
            group.CurrTarget = t;
        }
        if (SigFatal(p, sig) && !group.GroupExit && p != Init && !Signals.DefaultCore(sig))
        {
            // Fatal to the group: start the group exit and wake everybody, so no thread runs on
            // while a slower one holds the fatal signal.
            group.GroupExit = true;
            group.GroupExitCode = sig;
            foreach (var thread in ThreadGroup(p))
            {
                thread.SigPending |= Signals.Mask(Signals.SIGKILL);
                RecalcSigpending(thread);
                SignalWakeUp(thread, resume: true);
            }
            return;
        }
        RecalcSigpending(t);
        SignalWakeUp(t, sig == Signals.SIGKILL);
    }

    /// <summary>wants_signal: not blocked, not exiting, not stopped (unless SIGKILL), and running or with nothing else pending.</summary>
    private static bool WantsSignal(TaskStruct t, int sig)
    {
        if ((t.SigBlocked & Signals.Mask(sig)) != 0 || (t.Flags & TaskFlags.PF_EXITING) != 0 || t.ExitState != 0)
        {
            return false;
        }
        if (sig == Signals.SIGKILL)
        {
            return true;
        }
        if ((t.State & (TaskState.TASK_STOPPED | TaskState.TASK_TRACED)) != 0)
        {
            return false;
        }
        return t.Machine.Cpus[t.Cpu].Curr == t || !Machine.SignalPending(t);
    }

    /// <summary>sig_fatal: the default action ends the process (not a stop, not ignored by default, no handler).</summary>
    private static bool SigFatal(TaskStruct p, int sig) =>
        !Signals.IsStop(sig) && !Signals.DefaultIgnore(sig)
        && (Signals.Unblockable(sig) || ProcessState.Of(p).Sighand.Action[sig] == SignalDisposition.Default);

    /// <summary>handle_stop_signal: stop signals and SIGCONT cancel each other in every queue of the group; SIGCONT wakes stopped threads.</summary>
    private void HandleStopSignal(TaskStruct p, int sig)
    {
        var group = ProcessState.Of(p).Signal;
        if (group.GroupExit)
        {
            return; // already dying
        }
        if (Signals.IsStop(sig))
        {
            ulong cont = Signals.Mask(Signals.SIGCONT);
            group.SharedPending &= ~cont;
            foreach (var t in ThreadGroup(p))
            {
                t.SigPending &= ~cont;
            }
        }
        else if (sig == Signals.SIGCONT)
        {
            ulong stops = Signals.Mask(Signals.SIGSTOP) | Signals.Mask(Signals.SIGTSTP) | Signals.Mask(Signals.SIGTTIN) | Signals.Mask(Signals.SIGTTOU);
            group.SharedPending &= ~stops;
            bool wasStopped = false;
            foreach (var t in ThreadGroup(p))
            {
                t.SigPending &= ~stops;
                RecalcSigpending(t);
                if (t.State == TaskState.TASK_STOPPED)
                {
                    wasStopped = true;
                    Machine.WakeUpState(t, TaskState.TASK_STOPPED);
                }
            }
            if (wasStopped)
            {
                group.ContinuedToReport = true;
                group.StopSignalToReport = 0;
                if ((p.GroupLeader ?? p).Parent is { } parent)
                {
                    WakeParent(parent);
                }
            }
        }
    }

    /// <summary>The live threads of p's group, in task-list order (next_thread's ring); just p when it has no others.</summary>
    private List<TaskStruct> ThreadGroup(TaskStruct p)
    {
        if (ProcessState.Of(p).Signal.Count <= 1)
        {
            return [p];
        }
        var list = OtherThreads(p);
        list.Add(p);
        list.Sort((a, b) => a.Pid.CompareTo(b.Pid));
        return list;
    }

    /// <summary>do_sigaction's SIG_IGN: a pending `sig` is discarded from the group's queue and every thread's.</summary>
    internal void FlushSignal(TaskStruct p, int sig)
    {
        ulong mask = Signals.Mask(sig);
        ProcessState.Of(p).Signal.SharedPending &= ~mask;
        foreach (var t in ThreadGroup(p))
        {
            t.SigPending &= ~mask;
            RecalcSigpending(t);
        }
    }
}
