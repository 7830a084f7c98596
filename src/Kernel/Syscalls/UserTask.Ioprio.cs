// I/O priority syscalls (fs/ioprio.c 2.6.20): ioprio_set and ioprio_get for a process, a process
// group or a user. The real-time and idle classes need CAP_SYS_ADMIN, changing another user's task
// CAP_SYS_NICE (both modelled as euid 0). Only CFQ acts on the value.
using Kernel.Block;
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    /// <summary>ioprio_set(which, who, ioprio): 0, or -EINVAL, -EPERM, -ESRCH.</summary>
    public ValueTask<long> IoprioSet(IoprioWho which, int who, int ioprio)
    {
        var p = Enter();
        int data = IoPrio.Data(ioprio);
        switch (IoPrio.Class(ioprio))
        {
            case IoprioClass.IOPRIO_CLASS_RT:
                if (!Capable(p))
                {
                    return Return(Errno.EPERM.Ret());
                }
                if (data >= IoPrio.IOPRIO_BE_NR)
                {
                    return Return(Errno.EINVAL.Ret());
                }
                break;
            case IoprioClass.IOPRIO_CLASS_BE:
                if (data >= IoPrio.IOPRIO_BE_NR)
                {
                    return Return(Errno.EINVAL.Ret());
                }
                break;
            case IoprioClass.IOPRIO_CLASS_IDLE:
                if (!Capable(p))
                {
                    return Return(Errno.EPERM.Ret());
                }
                break;
            default:
                return Return(Errno.EINVAL.Ret());
        }
        long ret = Errno.ESRCH.Ret();
        switch (which)
        {
            case IoprioWho.IOPRIO_WHO_PROCESS:
                if (FindTarget(p, who) is { } target)
                {
                    ret = SetTaskIoprio(p, target, ioprio);
                }
                break;
            case IoprioWho.IOPRIO_WHO_PGRP:
                int pgrp = who == 0 ? p.Pgrp : who;
                foreach (var t in IoprioThreads().Where(x => x.Pgrp == pgrp))
                {
                    ret = SetTaskIoprio(p, t, ioprio);
                    if (ret != 0)
                    {
                        break;
                    }
                }
                break;
            case IoprioWho.IOPRIO_WHO_USER:
                // As 2.6.20 does: who == 0 finds the caller's user but then compares each task's
                // uid with who itself, so it sets root's tasks.
                int lookup = who == 0 ? p.Uid : who;
                if (!IoprioThreads().Any(x => x.Uid == lookup))
                {
                    break;
                }
                foreach (var t in IoprioThreads().Where(x => x.Uid == who))
                {
                    ret = SetTaskIoprio(p, t, ioprio);
                    if (ret != 0)
                    {
                        break;
                    }
                }
                break;
            default:
                ret = Errno.EINVAL.Ret();
                break;
        }
        return Return(ret);
    }

    /// <summary>ioprio_get(which, who): the value (the best over a group or user), or -EINVAL, -ESRCH.</summary>
    public long IoprioGet(IoprioWho which, int who)
    {
        var p = Enter();
        long ret = Errno.ESRCH.Ret();
        IEnumerable<TaskStruct> targets;
        switch (which)
        {
            case IoprioWho.IOPRIO_WHO_PROCESS:
                return FindTarget(p, who) is { } target ? target.IoPrio : ret;
            case IoprioWho.IOPRIO_WHO_PGRP:
                int pgrp = who == 0 ? p.Pgrp : who;
                targets = IoprioThreads().Where(x => x.Pgrp == pgrp);
                break;
            case IoprioWho.IOPRIO_WHO_USER:
                int uid = who == 0 ? p.Uid : who;
                targets = IoprioThreads().Where(x => x.Uid == uid);
                break;
            default:
                return Errno.EINVAL.Ret();
        }
        foreach (var t in targets)
        {
            ret = ret == Errno.ESRCH.Ret() ? t.IoPrio : IoPrio.Best((int)ret, t.IoPrio);
        }
        return ret;
    }

    /// <summary>do_each_thread: every task still on the task list (zombies too).</summary>
    private IEnumerable<TaskStruct> IoprioThreads() => _k.Tasks.Where(x => x.ExitState != TaskState.EXIT_DEAD);

    private static long SetTaskIoprio(TaskStruct caller, TaskStruct t, int ioprio)
    {
        if (t.Uid != caller.Euid && t.Uid != caller.Uid && !Capable(caller))
        {
            return Errno.EPERM.Ret();
        }
        IoContext.IoprioSet(t, ioprio);
        return 0;
    }
}
