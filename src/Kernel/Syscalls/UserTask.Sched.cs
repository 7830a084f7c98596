// Scheduling syscalls (kernel/sched.c, kernel/sys.c 2.6.20): sched_yield, nice, get/setpriority,
// sched_{set,get}scheduler, sched_{set,get}param, sched_get_priority_{min,max},
// sched_rr_get_interval, sched_{set,get}affinity. CAP_SYS_NICE is modelled as euid 0;
// RLIMIT_NICE and RLIMIT_RTPRIO have their default of 0.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Process;
using Kernel.Sched.O1;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    private static bool Capable(TaskStruct p) => p.Euid == 0;

    /// <summary>Find the target of a pid-taking sched syscall: 0 is the caller.</summary>
    /// <summary>find_process_by_pid: the caller for 0, else any task still hashed (a zombie too).</summary>
    private TaskStruct? FindTarget(TaskStruct p, int pid) => pid == 0 ? p : _k.FindTask(pid);

    /// <summary>The target of a call that changes scheduling state: zombies are refused with ESRCH (docs/deviations.md).</summary>
    private TaskStruct? FindLiveTarget(TaskStruct p, int pid) => FindTarget(p, pid) is { ExitState: 0 } t ? t : null;

    /// <summary>sched_yield(): always 0; the caller goes to the back (expired array for SCHED_NORMAL).</summary>
    public async ValueTask<long> SchedYield()
    {
        var p = Enter();
        _k.Scheduler.Yield(p);
        await _m.Schedule();
        return await Return(0);
    }

    /// <summary>nice(inc): clamp to -20..19; lowering nice needs CAP_SYS_NICE (EPERM).</summary>
    public ValueTask<long> Nice(int increment)
    {
        var p = Enter();
        increment = Math.Clamp(increment, -40, 40);
        int nice = Math.Clamp(p.Nice + increment, -20, 19);
        if (increment < 0 && !Capable(p))
        {
            return Return(Errno.EPERM.Ret());
        }
        _k.Scheduler.SetUserNice(p, nice);
        return Return(0);
    }

    /// <summary>getpriority: the raw syscall value 20 - nice (1..40), as Linux returns it.</summary>
    public long Getpriority(PrioWhich which, int who)
    {
        var p = Enter();
        long best = -1;
        var targets = PrioTargets(p, which, who, out long err);
        foreach (var t in targets)
        {
            best = Math.Max(best, 20 - t.Nice);
        }
        return best >= 0 ? best : err;
    }

    /// <summary>setpriority: nice clamped to -20..19; EPERM on another user's task, EACCES to raise priority unprivileged.</summary>
    public ValueTask<long> Setpriority(PrioWhich which, int who, int niceval)
    {
        var p = Enter();
        niceval = Math.Clamp(niceval, -20, 19);
        long error = Errno.ESRCH.Ret();
        var targets = PrioTargets(p, which, who, out long err);
        foreach (var t in targets)
        {
            error = 0;
            if (t.Uid != p.Euid && t.Euid != p.Euid && !Capable(p))
            {
                error = Errno.EPERM.Ret();
                continue;
            }
            if (niceval < t.Nice && !Capable(p))
            {
                error = Errno.EACCES.Ret();
                continue;
            }
            _k.Scheduler.SetUserNice(t, niceval);
        }
        if (error == Errno.ESRCH.Ret() && err == Errno.EINVAL.Ret())
        {
            error = err;
        }
        return Return(error);
    }

    private List<TaskStruct> PrioTargets(TaskStruct p, PrioWhich which, int who, out long err)
    {
        var list = new List<TaskStruct>();
        err = Errno.ESRCH.Ret();
        switch (which)
        {
            case PrioWhich.PRIO_PROCESS:
                if (FindLiveTarget(p, who) is { } t)
                {
                    list.Add(t);
                }
                break;
            case PrioWhich.PRIO_PGRP:
                int pgrp = who == 0 ? p.Pgrp : who;
                list.AddRange(_k.Tasks.Where(x => x.Pgrp == pgrp && x.ExitState == 0 && !x.IsKernelThread));
                break;
            case PrioWhich.PRIO_USER:
                int uid = who == 0 ? p.Uid : who;
                list.AddRange(_k.Tasks.Where(x => x.Uid == uid && x.ExitState == 0 && !x.IsKernelThread));
                break;
            default:
                err = Errno.EINVAL.Ret();
                break;
        }
        return list;
    }

    /// <summary>sched_setscheduler(pid, policy, &amp;param).</summary>
    public ValueTask<long> SchedSetscheduler(int pid, SchedPolicy policy, int priority)
    {
        var p = Enter();
        return Return(SetschedulerCore(p, pid, (int)policy, priority));
    }

    /// <summary>sched_setparam(pid, &amp;param): keep the policy, change the RT priority.</summary>
    public ValueTask<long> SchedSetparam(int pid, int priority)
    {
        var p = Enter();
        return Return(SetschedulerCore(p, pid, -1, priority));
    }

    private long SetschedulerCore(TaskStruct p, int pid, int policy, int priority)
    {
        if (pid < 0)
        {
            return Errno.EINVAL.Ret();
        }
        var t = FindLiveTarget(p, pid);
        if (t is null)
        {
            return Errno.ESRCH.Ret();
        }
        if (policy < 0)
        {
            policy = (int)t.Policy;
        }
        else if (policy is not ((int)SchedPolicy.SCHED_FIFO or (int)SchedPolicy.SCHED_RR or (int)SchedPolicy.SCHED_NORMAL or (int)SchedPolicy.SCHED_BATCH))
        {
            return Errno.EINVAL.Ret();
        }
        var pol = (SchedPolicy)policy;
        bool rt = pol is SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR;
        if (priority < 0 || priority > SchedParams.MAX_USER_RT_PRIO - 1 || rt != (priority != 0))
        {
            return Errno.EINVAL.Ret();
        }
        if (!Capable(p))
        {
            // RLIMIT_RTPRIO is 0: no RT without privilege.
            if (rt && (pol != t.Policy || priority > t.RtPriority))
            {
                return Errno.EPERM.Ret();
            }
            if (p.Euid != t.Euid && p.Euid != t.Uid)
            {
                return Errno.EPERM.Ret();
            }
        }
        _k.Scheduler.SetScheduler(t, pol, priority);
        global::Kernel.Core.Locking.RtMutex.AdjustPi(_m, t); // a blocked task's new priority travels its PI chain
        return 0;
    }

    public long SchedGetscheduler(int pid)
    {
        var p = Enter();
        if (pid < 0)
        {
            return Errno.EINVAL.Ret();
        }
        return FindTarget(p, pid) is { } t ? (long)t.Policy : Errno.ESRCH.Ret();
    }

    public long SchedGetparam(int pid)
    {
        var p = Enter();
        if (pid < 0)
        {
            return Errno.EINVAL.Ret();
        }
        return FindTarget(p, pid) is { } t ? t.RtPriority : Errno.ESRCH.Ret();
    }

    public long SchedGetPriorityMax(SchedPolicy policy)
    {
        Enter();
        return policy switch
        {
            SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR => SchedParams.MAX_USER_RT_PRIO - 1,
            SchedPolicy.SCHED_NORMAL or SchedPolicy.SCHED_BATCH => 0,
            _ => Errno.EINVAL.Ret(),
        };
    }

    public long SchedGetPriorityMin(SchedPolicy policy)
    {
        Enter();
        return policy switch
        {
            SchedPolicy.SCHED_FIFO or SchedPolicy.SCHED_RR => 1,
            SchedPolicy.SCHED_NORMAL or SchedPolicy.SCHED_BATCH => 0,
            _ => Errno.EINVAL.Ret(),
        };
    }

    /// <summary>sched_rr_get_interval: the timeslice in ns (0 for SCHED_FIFO).</summary>
    public long SchedRrGetInterval(int pid)
    {
        var p = Enter();
        if (pid < 0)
        {
            return Errno.EINVAL.Ret();
        }
        return FindTarget(p, pid) is { } t ? _k.Scheduler.TimesliceNs(t) : Errno.ESRCH.Ret();
    }

    /// <summary>sched_setaffinity: EINVAL if the mask has no online CPU, EPERM on another user's task.</summary>
    public async ValueTask<long> SchedSetaffinity(int pid, CpuMask mask)
    {
        var p = Enter();
        var t = FindLiveTarget(p, pid);
        if (pid < 0 || t is null)
        {
            return await Return(pid < 0 ? Errno.EINVAL.Ret() : Errno.ESRCH.Ret());
        }
        if (p.Euid != t.Euid && p.Euid != t.Uid && !Capable(p))
        {
            return await Return(Errno.EPERM.Ret());
        }
        if ((t.Flags & TaskFlags.PF_THREAD_BOUND) != 0 && t != p && mask != t.CpusAllowed)
        {
            // A bound kernel thread (migration/N) stays on its CPU: 2.6.20 would move it and BUG
            // in __migrate_task; later kernels refuse (set_cpus_allowed_ptr), as this does.
            return await Return(Errno.EINVAL.Ret());
        }
        long r = await _k.Scheduler.SetCpusAllowed(t, mask);
        return await Return(r);
    }

    /// <summary>sched_getaffinity: the allowed mask limited to online CPUs.</summary>
    public CpuMask SchedGetaffinity(int pid, out long ret)
    {
        var p = Enter();
        var t = FindTarget(p, pid);
        if (pid < 0 || t is null)
        {
            ret = pid < 0 ? Errno.EINVAL.Ret() : Errno.ESRCH.Ret();
            return CpuMask.None;
        }
        ret = 0;
        return t.CpusAllowed.And(_m.OnlineMask);
    }
}
