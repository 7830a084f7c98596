// fork, clone, exit, wait4/waitpid, kill, nanosleep, pause and signal dispositions.
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Process;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    /// <summary>fork(): the child runs `child`; returns the child's pid (or -errno) in the parent.</summary>
    public ValueTask<long> Fork(UserProgram child, string? comm = null) =>
        Clone((CloneFlags)Signals.SIGCHLD, child, comm);

    /// <summary>vfork(): the parent sleeps until the child exits.</summary>
    public ValueTask<long> Vfork(UserProgram child, string? comm = null) =>
        Clone(CloneFlags.CLONE_VM | CloneFlags.CLONE_VFORK | (CloneFlags)Signals.SIGCHLD, child, comm);

    /// <summary>clone(flags, fn): process-level flags; the low byte is the exit signal.</summary>
    /// <summary>
    /// clone(flags, child): a new process or thread running `child`. `parentTid` and `childTid` are
    /// the user addresses CLONE_PARENT_SETTID, CLONE_CHILD_SETTID and CLONE_CHILD_CLEARTID use.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> Clone(CloneFlags flags, UserProgram child, string? comm = null, long parentTid = 0, long childTid = 0)
    {
        ArgumentNullException.ThrowIfNull(child);
        var p = Enter();
        long r = await _k.Processes.DoFork(p, flags, comm ?? p.Comm, child, parentTid, childTid);
        return await Return(r);
    }

    /// <summary>exit_group(code): every thread of the group exits with `code`; never returns.</summary>
    public ValueTask ExitGroup(int code)
    {
        var p = Enter();
        _k.Processes.DoGroupExit(p, (code & 0xff) << 8);
        return Machine.Never();
    }

    /// <summary>set_tid_address(tidptr): the word zeroed and woken at exit; returns the caller's tid.</summary>
    public long SetTidAddress(long tidptr)
    {
        var p = Enter();
        ProcessState.Of(p).ClearChildTid = tidptr;
        return p.Pid;
    }

    /// <summary>tgkill(tgid, tid, sig): a signal to one thread, checked against its group.</summary>
    public ValueTask<long> Tgkill(int tgid, int tid, int sig)
    {
        var p = Enter();
        if (tgid <= 0 || tid <= 0)
        {
            return Return(Errno.EINVAL.Ret());
        }
        var t = _k.FindTask(tid);
        return Return(t is null || t.Tgid != tgid ? Errno.ESRCH.Ret() : _k.Processes.KillThread(p, t, sig));
    }

    /// <summary>exit(code): never returns.</summary>
    public ValueTask Exit(int code)
    {
        var p = Enter();
        _k.Processes.DoExit(p, (code & 0xff) << 8);
        return Machine.Never();
    }

    /// <summary>wait4(pid, &amp;status, options, NULL).</summary>
    public async ValueTask<WaitResult> Wait4(int pid, WaitOptions options = WaitOptions.None)
    {
        var p = Enter();
        while (true)
        {
            ProcessState.Of(p).HandlerRan = false;
            var r = await _k.Processes.DoWait(p, pid, options);
            if (r.Pid != Errno.ERESTARTSYS.Ret())
            {
                long ret = await Return(r.Pid);
                return r with { Pid = ret };
            }
            await Return(Errno.ERESTARTSYS.Ret());
            if (ProcessState.Of(p).HandlerRan)
            {
                return new WaitResult(Errno.EINTR.Ret(), 0);
            }
        }
    }

    /// <summary>waitpid(pid, &amp;status, options) = wait4 without rusage.</summary>
    public ValueTask<WaitResult> Waitpid(int pid, WaitOptions options = WaitOptions.None) => Wait4(pid, options);

    /// <summary>kill(pid, sig).</summary>
    public ValueTask<long> Kill(int pid, int sig)
    {
        var p = Enter();
        return Return(_k.Processes.SysKill(p, pid, sig));
    }

    /// <summary>
    /// Set a signal's disposition: a handler (run on return to user mode, in zero time),
    /// or null for SIG_DFL. SIGKILL and SIGSTOP cannot be changed (EINVAL).
    /// </summary>
    public long Signal(int sig, Action<int>? handler)
    {
        var p = Enter();
        if (sig is < 1 or > Signals._NSIG || Signals.Unblockable(sig))
        {
            return Errno.EINVAL.Ret();
        }
        ProcessState.Of(p).Sighand.Handlers[sig] = handler;
        ProcessState.Of(p).Sighand.Action[sig] = handler is null ? SignalDisposition.Default : SignalDisposition.Handler;
        return 0;
    }

    /// <summary>signal(sig, SIG_IGN). Ignoring SIGCHLD makes children reap themselves.</summary>
    public long SignalIgnore(int sig)
    {
        var p = Enter();
        if (sig is < 1 or > Signals._NSIG || Signals.Unblockable(sig))
        {
            return Errno.EINVAL.Ret();
        }
        ProcessState.Of(p).Sighand.Handlers[sig] = null;
        ProcessState.Of(p).Sighand.Action[sig] = SignalDisposition.Ignore;
        _k.Processes.FlushSignal(p, sig);
        return 0;
    }

    /// <summary>sigprocmask(SIG_SETMASK): block signals (SIGKILL and SIGSTOP cannot be blocked).</summary>
    public long SigSetMask(ulong blocked)
    {
        var p = Enter();
        p.SigBlocked = blocked & ~(Signals.Mask(Signals.SIGKILL) | Signals.Mask(Signals.SIGSTOP));
        ProcessTable.RecalcSigpending(p); // a signal the group holds may now be this thread's to take
        return 0;
    }

    /// <summary>nanosleep: 0, or -EINTR with the unslept time after a handled signal.</summary>
    public async ValueTask<SleepResult> Nanosleep(TimeSpec req)
    {
        var p = Enter();
        if (!req.IsValid)
        {
            return new SleepResult(await Return(Errno.EINVAL.Ret()), default);
        }
        long expires = _m.Now + req.TotalNs;
        while (true)
        {
            ProcessState.Of(p).HandlerRan = false;
            bool expired = await _k.Processes.DoNanosleep(p, expires);
            if (expired)
            {
                return new SleepResult(await Return(0), default);
            }
            // Interrupted: a handler makes it -EINTR with rem; a stop/continue restarts it.
            var rem = TimeSpec.FromNs(Math.Max(0, expires - _m.Now));
            await Return(Errno.ERESTART_RESTARTBLOCK.Ret());
            if (ProcessState.Of(p).HandlerRan)
            {
                return new SleepResult(Errno.EINTR.Ret(), rem);
            }
        }
    }

    public ValueTask<SleepResult> Nanosleep(long ns) => Nanosleep(TimeSpec.FromNs(ns));

    public ValueTask<SleepResult> Nanosleep(TimeSpan t) => Nanosleep(TimeSpec.FromNs(t.Ticks * 100));

    /// <summary>pause(): sleep until a signal is delivered to a handler; returns -EINTR.</summary>
    public async ValueTask<long> Pause()
    {
        var p = Enter();
        while (true)
        {
            ProcessState.Of(p).HandlerRan = false;
            await _k.Processes.DoPause(p);
            await Return(Errno.ERESTARTNOHAND.Ret());
            if (ProcessState.Of(p).HandlerRan)
            {
                return Errno.EINTR.Ret();
            }
        }
    }
}
