// The handle an emulated program receives: its task and the syscalls it can make, with Linux
// names in .NET casing. Return values follow the raw kernel ABI: >= 0 on success, -errno on
// failure (compare with Errno.X.Ret()). Syscalls that cannot block return synchronously and
// allocate nothing; the others return a ValueTask the program awaits.
//
//     async ValueTask Main(UserTask self)
//     {
//         await self.Compute(2_000_000);                       // 2 ms of CPU
//         long child = await self.Fork(c => c.Exit(3));
//         var r = await self.Wait4((int)child, WaitOptions.None);   // r.WEXITSTATUS == 3
//     }
using System.Runtime.CompilerServices;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Process;

namespace Kernel.Syscalls;

public sealed partial class UserTask
{
    private readonly LinuxKernel _k;
    private readonly Machine _m;

    internal UserTask(LinuxKernel kernel, TaskStruct task)
    {
        _k = kernel;
        _m = kernel.Machine;
        TaskStruct = task;
    }

    /// <summary>The task_struct behind this handle (read it; the kernel owns it).</summary>
    public TaskStruct TaskStruct { get; }

    public LinuxKernel Kernel => _k;

    /// <summary>Simulated time now, in ns (what clock_gettime(CLOCK_MONOTONIC) would say).</summary>
    public long Now => _m.Now;

    /// <summary>The CPU this task is running on right now.</summary>
    public int CurrentCpu => TaskStruct.Cpu;

    /// <summary>Syscall entry: only the task's own code may call, and the entry costs time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TaskStruct Enter()
    {
        return _m.EnterKernel(TaskStruct, _m.Costs.SyscallNs);
    }

    /// <summary>Consume `ns` nanoseconds of CPU time in user mode. Preemptible.</summary>
    public ValueTask Compute(long ns) => _m.Compute(TaskStruct, ns);

    public ValueTask Compute(TimeSpan t) => _m.Compute(TaskStruct, t.Ticks * 100);

    // ------------------------------------------------------------------ identity

    public long Getpid()
    {
        Enter();
        return TaskStruct.Tgid;
    }

    public long Gettid()
    {
        Enter();
        return TaskStruct.Pid;
    }

    public long Getppid()
    {
        Enter();
        return TaskStruct.Parent?.Tgid ?? 0;
    }

    public long Getuid()
    {
        Enter();
        return TaskStruct.Uid;
    }

    public long Geteuid()
    {
        Enter();
        return TaskStruct.Euid;
    }

    /// <summary>setuid: root may become anyone; others only their own uid.</summary>
    public long Setuid(int uid)
    {
        var p = Enter();
        if (uid < 0)
        {
            return Errno.EINVAL.Ret();
        }
        if (p.Euid == 0)
        {
            p.Uid = p.Euid = uid;
            return 0;
        }
        if (uid == p.Uid)
        {
            p.Euid = uid;
            return 0;
        }
        return Errno.EPERM.Ret();
    }

    public long Getpgrp()
    {
        Enter();
        return TaskStruct.Pgrp;
    }

    /// <summary>setpgid(0, 0) style: make the caller a process group leader (pid 0 = self).</summary>
    public long Setpgid(int pid, int pgid)
    {
        var p = Enter();
        if (pgid < 0)
        {
            return Errno.EINVAL.Ret();
        }
        var t = pid == 0 ? p : _k.FindTask(pid);
        if (t is null || (t != p && t.Parent != p))
        {
            return Errno.ESRCH.Ret();
        }
        t.Pgrp = pgid == 0 ? t.Pid : pgid;
        return 0;
    }

    /// <summary>The machine's seeded random source (what get_random_bytes would feed a program).</summary>
    public Prng Random => _m.Random;

    /// <summary>
    /// A custom syscall, the way a loadable module adds one: `body` runs in kernel mode on behalf
    /// of this task and may use the machine's kernel primitives (Work, SpinLock/SpinUnlock,
    /// MightSleep, CondResched, PrepareToWait/Schedule...). Its result is the syscall's return.
    /// </summary>
    public async ValueTask<long> KernelCall(Func<Machine, ValueTask<long>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Enter();
        long r = await body(_m);
        return await Return(r);
    }

    /// <summary>Process-level result after a syscall: reschedule and deliver signals as Linux does.</summary>
    private ValueTask<long> Return(long ret) => _m.SyscallReturn(TaskStruct, ret);
}
