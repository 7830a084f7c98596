// /proc text views in Linux 2.6.20's formats (fs/proc/array.c, fs/proc/proc_misc.c,
// kernel/sched.c show_schedstat). Read-only strings built on demand from live kernel state.
using System.Globalization;
using System.Text;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Process;

namespace Kernel.Proc;

public sealed class ProcFs
{
    /// <summary>NR_IRQS on i386 with an IO-APIC: the count of per-IRQ columns on the intr line.</summary>
    public const int NR_IRQS = 224;

    /// <summary>The emulated wall clock at boot (2.6.20's release day, 2007-02-04 UTC), for btime.</summary>
    public const long BootEpochSeconds = 1170547200;

    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private readonly LinuxKernel _k;

    internal ProcFs(LinuxKernel kernel)
    {
        _k = kernel;
        // The process layer's own files; the memory code registers meminfo, vmstat and the rest.
        var r = kernel.Machine.ProcFiles;
        r.Register("/proc/stat", Stat);
        r.Register("/proc/loadavg", LoadAvg);
        r.Register("/proc/schedstat", SchedStat);
        r.Register("/proc/uptime", Uptime);
        r.RegisterPerTask("status", Status);
        r.RegisterPerTask("stat", PidStat);
        r.RegisterPerTask("schedstat", PidSchedStat);
        r.RegisterPerTaskDir("fd", OpenFds);
        // kernel/sysctl.c kern_table entries that exist so far.
        var pids = kernel.Pids;
        r.RegisterInt("/proc/sys/kernel/pid_max", () => pids.PidMax, v => { pids.PidMax = (int)v; return 0; },
            PidMap.RESERVED_PIDS + 1, pids.Capacity);
        r.RegisterInt("/proc/sys/kernel/threads-max", () => kernel.MaxThreads, v => { kernel.MaxThreads = (int)v; return 0; });
        r.RegisterInt("/proc/sys/kernel/panic_on_oops", () => kernel.Machine.PanicOnOops ? 1 : 0, v => { kernel.Machine.PanicOnOops = v != 0; return 0; });
    }

    private Machine M => _k.Machine;

    /// <summary>Read a /proc or /sys path ("/proc/loadavg", "/proc/42/status"); null when it does not exist.</summary>
    public string? Read(string path) => M.ProcFiles.Read(path);

    /// <summary>List a /proc directory ("/proc", "/proc/42", "/proc/42/task"); null when it does not exist.</summary>
    public IReadOnlyList<string>? ReadDir(string path) => M.ProcFiles.ReadDir(path);

    /// <summary>
    /// Write a /proc or /sys file as `echo text > path` would: 0, or -ENOENT (no such file),
    /// -EACCES (read-only), -EINVAL (a value the file does not take).
    /// </summary>
    public long Write(string path, string text) => M.ProcFiles.Write(path, text);

    private static char StateChar(TaskStruct p)
    {
        var s = p.ExitState != 0 ? p.ExitState : p.State & ~TaskState.TASK_NONINTERACTIVE;
        return s switch
        {
            TaskState.TASK_RUNNING => 'R',
            TaskState.TASK_INTERRUPTIBLE => 'S',
            TaskState.TASK_UNINTERRUPTIBLE => 'D',
            TaskState.TASK_STOPPED => 'T',
            TaskState.TASK_TRACED => 'T',
            TaskState.EXIT_ZOMBIE => 'Z',
            _ => 'X',
        };
    }

    private static string StateName(TaskStruct p) => StateChar(p) switch
    {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'D' => "D (disk sleep)",
        'T' => p.State == TaskState.TASK_TRACED ? "T (tracing stop)" : "T (stopped)",
        'Z' => "Z (zombie)",
        _ => "X (dead)",
    };

    /// <summary>/proc/PID/fd: the task's open descriptors (none listed for a kernel thread or after exit_files).</summary>
    public IReadOnlyList<string>? OpenFds(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.ProcessData is null || Kernel.Process.ProcessState.Of(p).Files is not { } files)
        {
            return Array.Empty<string>();
        }
        var fds = new List<string>();
        for (int i = 0; i < files.Fds.Count; i++)
        {
            if (files.Fds[i] is not null)
            {
                fds.Add(i.ToString(Ci));
            }
        }
        return fds;
    }

    /// <summary>/proc/PID/status (2.6.20 fields; the two ctxt_switches lines come from 2.6.23).</summary>
    public string Status(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var (ign, cgt) = SignalMasks(p);
        ulong caps = p.Euid == 0 ? 0xfffffeffUL : 0;
        var sb = new StringBuilder();
        sb.Append(Ci, $"Name:\t{p.Comm}\n");
        sb.Append(Ci, $"State:\t{StateName(p)}\n");
        sb.Append(Ci, $"SleepAVG:\t{p.SleepAvg / 1024 * 100 / (1020000000 / 1024)}%\n");
        sb.Append(Ci, $"Tgid:\t{p.Tgid}\n");
        sb.Append(Ci, $"Pid:\t{p.Pid}\n");
        sb.Append(Ci, $"PPid:\t{p.RealParent?.Tgid ?? 0}\n");
        sb.Append(Ci, $"TracerPid:\t0\n");
        sb.Append(Ci, $"Uid:\t{p.Uid}\t{p.Euid}\t{p.Euid}\t{p.Euid}\n");
        sb.Append(Ci, $"Gid:\t0\t0\t0\t0\n");
        sb.Append(Ci, $"FDSize:\t{(p.IsKernelThread ? 0 : 32)}\n");
        sb.Append(Ci, $"Groups:\t\n");
        if (_k.MmOf(p) is { } mm)
        {
            sb.Append(Kernel.Mm.Memory.ProcMaps.StatusLines(mm));
        }
        // get_nr_threads: signal->count, the group's tasks not yet released.
        sb.Append(Ci, $"Threads:\t{(p.ProcessData is null ? 1 : Kernel.Process.ProcessState.Of(p).Signal.Count)}\n");
        sb.Append(Ci, $"SigQ:\t0/0\n");
        sb.Append(Ci, $"SigPnd:\t{p.SigPending:x16}\n");
        sb.Append(Ci, $"ShdPnd:\t{(p.ProcessData is null ? 0 : Kernel.Process.ProcessState.Of(p).Signal.SharedPending):x16}\n");
        sb.Append(Ci, $"SigBlk:\t{p.SigBlocked:x16}\n");
        sb.Append(Ci, $"SigIgn:\t{ign:x16}\n");
        sb.Append(Ci, $"SigCgt:\t{cgt:x16}\n");
        sb.Append(Ci, $"CapInh:\t{0:x16}\n");
        sb.Append(Ci, $"CapPrm:\t{caps:x16}\n");
        sb.Append(Ci, $"CapEff:\t{caps:x16}\n");
        sb.Append(Ci, $"voluntary_ctxt_switches:\t{p.Nvcsw}\n");
        sb.Append(Ci, $"nonvoluntary_ctxt_switches:\t{p.Nivcsw}\n");
        return sb.ToString();
    }

    /// <summary>The ignored and caught signal masks (bit sig-1) of the task's sighand (collect_sigign_sigcatch).</summary>
    private static (ulong Ignored, ulong Caught) SignalMasks(TaskStruct p)
    {
        ulong ign = 0, cgt = 0;
        var action = ProcessState.Of(p).Sighand.Action;
        for (int s = 1; s <= 64; s++)
        {
            if (action[s] == SignalDisposition.Ignore)
            {
                ign |= 1UL << (s - 1);
            }
            else if (action[s] == SignalDisposition.Handler)
            {
                cgt |= 1UL << (s - 1);
            }
        }
        return (ign, cgt);
    }

    /// <summary>/proc/PID/stat, the 44 fields of 2.6.20's do_task_stat.</summary>
    public string PidStat(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var hz = M.Hz;
        long startTime = p.StartTimeNs / (Hz.NSEC_PER_SEC / Hz.USER_HZ);
        var (sigign, sigcatch) = SignalMasks(p);
        return string.Create(Ci,
            $"{p.Pid} ({p.Comm}) {StateChar(p)} {p.Parent?.Tgid ?? 0} {p.Pgrp} {p.Session} 0 -1 {(uint)p.Flags} " +
            $"{p.MinFlt} 0 {p.MajFlt} 0 {hz.JiffiesToClockT(p.Utime)} {hz.JiffiesToClockT(p.Stime)} {hz.JiffiesToClockT(p.Cutime)} {hz.JiffiesToClockT(p.Cstime)} " +
            $"{p.Prio - 100} {p.Nice} 1 0 {startTime} {VmBytes(p)} {RssPages(p)} 4294967295 0 0 0 0 0 " +
            $"{p.SigPending & 0x7fffffff} {p.SigBlocked & 0x7fffffff} {sigign & 0x7fffffff} {sigcatch & 0x7fffffff} 0 0 0 {p.ExitSignal} {p.Cpu} {p.RtPriority} {(int)p.Policy} 0\n");
    }

    private long VmBytes(TaskStruct p) => (_k.MmOf(p)?.TotalVm ?? 0) * Kernel.Mm.MemoryLayout.PAGE_SIZE;

    private long RssPages(TaskStruct p) => _k.MmOf(p) is { } mm ? mm.AnonRss + mm.FileRss : 0;

    /// <summary>/proc/PID/schedstat: cpu_time run_delay pcnt (2.6.20: jiffies).</summary>
    public string PidSchedStat(TaskStruct p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return string.Create(Ci, $"{M.Hz.NsToJiffies(p.CpuTimeNs)} {M.Hz.NsToJiffies(p.RunDelayNs)} {p.Pcnt}\n");
    }

    /// <summary>/proc/stat: cpu lines in USER_HZ ticks, intr, ctxt, btime, processes, procs_running/blocked.</summary>
    public string Stat()
    {
        var hz = M.Hz;
        var sb = new StringBuilder();
        long u = 0, n = 0, s = 0, i = 0, w = 0, q = 0, sq = 0, st = 0, intr = 0, ctxt = 0;
        foreach (var c in M.Cpus)
        {
            u += c.Stat.User;
            n += c.Stat.Nice;
            s += c.Stat.System;
            i += c.Stat.Idle;
            w += c.Stat.Iowait;
            q += c.Stat.Irq;
            sq += c.Stat.Softirq;
            st += c.Stat.Steal;
            intr += c.Interrupts;
            ctxt += _k.Scheduler.NrSwitches(c.Id);
        }
        sb.Append(Ci, $"cpu  {hz.JiffiesToClockT(u)} {hz.JiffiesToClockT(n)} {hz.JiffiesToClockT(s)} {hz.JiffiesToClockT(i)} {hz.JiffiesToClockT(w)} {hz.JiffiesToClockT(q)} {hz.JiffiesToClockT(sq)} {hz.JiffiesToClockT(st)}\n");
        foreach (var c in M.Cpus)
        {
            var x = c.Stat;
            sb.Append(Ci, $"cpu{c.Id} {hz.JiffiesToClockT(x.User)} {hz.JiffiesToClockT(x.Nice)} {hz.JiffiesToClockT(x.System)} {hz.JiffiesToClockT(x.Idle)} {hz.JiffiesToClockT(x.Iowait)} {hz.JiffiesToClockT(x.Irq)} {hz.JiffiesToClockT(x.Softirq)} {hz.JiffiesToClockT(x.Steal)}\n");
        }
        sb.Append(Ci, $"intr {intr}");
        long timer = M.Cpus.Sum(c => c.Interrupts);
        for (int irq = 0; irq < NR_IRQS; irq++)
        {
            sb.Append(Ci, $" {(irq == 0 ? timer : 0)}");
        }
        var (running, _) = _k.Scheduler.CountActive();
        long blocked = M.Cpus.Sum(c => M.NrIowait(c));
        sb.Append(Ci, $"\nctxt {ctxt}\nbtime {BootEpochSeconds}\nprocesses {_k.TotalForks}\nprocs_running {running}\nprocs_blocked {blocked}\n");
        return sb.ToString();
    }

    /// <summary>/proc/loadavg: "0.00 0.00 0.00 running/threads last_pid".</summary>
    public string LoadAvg()
    {
        var a = M.Avenrun;
        string F(long x)
        {
            x += Machine.FIXED_1 / 200;
            long i = x >> Machine.FSHIFT;
            long frac = ((x & (Machine.FIXED_1 - 1)) * 100) >> Machine.FSHIFT;
            return string.Create(Ci, $"{i}.{frac:00}");
        }
        var (running, _) = _k.Scheduler.CountActive();
        return string.Create(Ci, $"{F(a[0])} {F(a[1])} {F(a[2])} {running}/{_k.TaskCount} {_k.Pids.LastPid}\n");
    }

    /// <summary>/proc/uptime: seconds up and seconds idle (summed over CPUs), two decimals.</summary>
    public string Uptime()
    {
        long idleJ = M.Cpus.Sum(c => c.Stat.Idle);
        long upNs = M.Now;
        long idleNs = M.Hz.JiffiesToNs(idleJ);
        return string.Create(Ci, $"{upNs / Hz.NSEC_PER_SEC}.{upNs / 10_000_000 % 100:00} {idleNs / Hz.NSEC_PER_SEC}.{idleNs / 10_000_000 % 100:00}\n");
    }

    /// <summary>/proc/schedstat (version 14 for the O(1) scheduler).</summary>
    public string SchedStat() => _k.Scheduler.FormatSchedstat(M.Jiffies);
}
