// A randomized syscall stress run: a seeded random kernel configuration (CPUs, HZ, preemption,
// scheduler, rmap mode, architecture, memory size, pid_max) runs a random program of N syscalls
// with boundary and garbage arguments (memory calls, loads and stores in and out of mappings,
// tmpfs files, fork and clone trees, kills with every signal, scheduling calls). Every result is
// checked against what Linux documents for that call; the root process also checks that what it
// stored in its own private memory reads back. After the run: the kernel must go idle, leave no
// task behind, raise no host exception and pass the invariant checker. The same seed gives the
// same run, so a failure is a reproduction.
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Mm.Rmap;
using Kernel.Process;
using Kernel.Sched;
using Kernel.Syscalls;

namespace Kernel.Lab.Stress;

/// <summary>The kernel configuration a seed picked.</summary>
public sealed record StressConfig(int Cpus, int Hz, PreemptModel Preempt, SchedulerKind Scheduler, RmapMode Rmap, Architecture Arch, long MemoryBytes, int PidMax)
{
    public override string ToString() =>
        $"{Cpus} cpu, HZ {Hz}, {Preempt}, {Scheduler}, {Rmap}, {Arch}, {MemoryBytes >> 20} MiB, pid_max {PidMax}";
}

/// <summary>What one seed's run did and found.</summary>
public sealed record StressResult(ulong Seed, StressConfig Config, long Syscalls, long Errors, long Forks, long KilledBySignal, string? Failure, int RootExitStatus)
{
    public bool Ok => Failure is null;
}

public static class SyscallStress
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    /// <summary>A run that has not gone idle after this much simulated time is a hang (a normal one takes seconds).</summary>
    /// <summary>STRESS_DEBUG: "1" keeps the root's last calls, "2" checks the invariants before every step (read once).</summary>
    private static readonly string? DebugLevel = Environment.GetEnvironmentVariable("STRESS_DEBUG");

    private static readonly bool CheckEveryStep = DebugLevel == "2";

    private static readonly long SimulatedLimitNs =
        (long.TryParse(Environment.GetEnvironmentVariable("STRESS_LIMIT_S"), out long sec) ? sec : 120) * 1_000_000_000;

    /// <summary>The configuration of `seed` (deterministic).</summary>
    public static StressConfig ConfigFor(ulong seed)
    {
        var r = new Random(unchecked((int)(seed * 2654435761UL)));
        int[] hzs = { 100, 250, 1000 };
        long[] mem = { 16L << 20, 32L << 20, 64L << 20 };
        return new StressConfig(
            Cpus: r.Next(1, 5),
            Hz: hzs[r.Next(hzs.Length)],
            Preempt: (PreemptModel)r.Next(3),
            Scheduler: r.Next(4) == 0 ? SchedulerKind.Goodness24 : SchedulerKind.O1,
            Rmap: (RmapMode)r.Next(3),
            Arch: r.Next(3) == 0 ? Architecture.Flat64 : Architecture.I386Pae,
            MemoryBytes: mem[r.Next(mem.Length)],
            PidMax: r.Next(2) == 0 ? 32768 : r.Next(301, 400));
    }

    /// <summary>Run `syscalls` random syscalls on the kernel of `seed`.</summary>
    public static StressResult Run(ulong seed, int syscalls)
    {
        var cfg = ConfigFor(seed);
        var run = new StressRun(seed, syscalls);
        LinuxKernel? k = null;
        string? failure = null;
        int rootExit = -1;
        try
        {
            k = LinuxKernel.Boot(new KernelOptions
            {
                Cpus = cfg.Cpus,
                Hz = cfg.Hz,
                Preempt = cfg.Preempt,
                Scheduler = cfg.Scheduler,
                Seed = seed,
                PidMax = cfg.PidMax,
                Memory = new MemoryOptions { MemoryBytes = cfg.MemoryBytes, Arch = cfg.Arch, Rmap = cfg.Rmap },
                RethrowProgramExceptions = true,
            });
            run.Kernel = k;
            var rootTask = k.Spawn("stress", run.Root);
            bool idle = k.RunUntilIdle(SimulatedLimitNs);
            if (idle)
            {
                // Shut down what is left (tasks a random SIGSTOP left stopped are not leaks):
                // SIGKILL wakes and ends them, init reaps them.
                foreach (var t in k.Tasks.Where(t => t != k.Init && !t.IsKernelThread && t.ExitState == 0).ToList())
                {
                    k.SendSignal(t, Signals.SIGKILL);
                }
                idle = k.RunUntilIdle(SimulatedLimitNs);
            }
            rootExit = rootTask.ExitCode;
            if (!idle)
            {
                failure = $"hang: the kernel did not go idle within {SimulatedLimitNs / 1_000_000_000} simulated seconds (root's last op {run.LastOp}); "
                    + string.Join(", ", k.Tasks.Where(t => !t.IsKernelThread).Select(t => $"{t} {t.State} exit {t.ExitState} policy {t.Policy} cpu {t.Cpu} allowed {t.CpusAllowed} counter {t.Counter} need_resched {t.NeedResched}"))
                    + "; idle: " + string.Join(", ", k.Machine.Cpus.Select(c => $"cpu{c.Id} curr {c.Curr} need_resched {c.Curr.NeedResched}"))
                    + (run.Trace.Count > 0 ? Environment.NewLine + string.Join(Environment.NewLine, run.Trace) + Environment.NewLine
                        + k.Machine.DumpState(rootTask) + $" utime {rootTask.Utime} stime {rootTask.Stime} sum_exec {rootTask.SumExecRuntimeNs} nvcsw {rootTask.Nvcsw} nivcsw {rootTask.Nivcsw} pending {rootTask.SigPending:x} blocked {rootTask.SigBlocked:x}" : "");
            }
            else if ((rootTask.ExitCode & 0x7f) is Signals.SIGSEGV or Signals.SIGBUS)
            {
                failure = $"the root took a fault in its own memory (exit status 0x{rootTask.ExitCode:x}) after op {run.LastOp}"
                    + (run.Trace.Count > 0 ? Environment.NewLine + string.Join(Environment.NewLine, run.Trace) : "");
            }
            else if (run.Problems.Count > 0)
            {
                failure = run.Problems[0] + (run.Problems.Count > 1 ? $" (+{run.Problems.Count - 1} more)" : "");
            }
            else
            {
                var left = k.Tasks.Where(t => t != k.Init && !t.IsKernelThread).ToList();
                if (left.Count > 0)
                {
                    failure = "tasks left behind: " + string.Join(", ", left.Select(t => $"{t} {t.State} exit {t.ExitState}"));
                }
                else
                {
                    var inv = k.CheckInvariants();
                    if (inv.Count > 0)
                    {
                        failure = "invariant: " + string.Join("; ", inv);
                    }
                }
            }
        }
        catch (Exception e)
        {
            var inner = e is EmulatedProgramException { InnerException: { } ie } ? ie : e;
            failure = $"{inner.GetType().Name}: {FirstLine(inner.Message)}";
            if (Environment.GetEnvironmentVariable("STRESS_STACKS") == "1")
            {
                failure += Environment.NewLine + inner.StackTrace;
            }
        }
        return new StressResult(seed, cfg, run.Count, run.Errors, run.Forks, run.Killed, failure, rootExit);
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    /// <summary>One run's state: the random source the programs share, the budget, what went wrong.</summary>
    private sealed class StressRun(ulong seed, int budget)
    {
        private readonly Random _r = new(unchecked((int)seed));
        private readonly string[] _names = { "/a", "/b", "/c", "/dir/x", "/" + new string('n', 256) };

        public List<string> Problems { get; } = new();
        public long Count { get; private set; }
        public long Errors { get; private set; }
        public long Forks { get; private set; }
        public long Killed { get; private set; }
        private int _liveChildren;

        private bool More => Count < budget && Problems.Count == 0;

        /// <summary>The root's last calls with their arguments (kept when STRESS_DEBUG=1), for a failure's report.</summary>
        public Queue<string> Trace { get; } = new();

        /// <summary>The kernel, for the per-step invariant check of STRESS_DEBUG=2.</summary>
        public LinuxKernel? Kernel { get; set; }

        private string _args = "";

        private void Check(string call, long r, params Errno[] allowed)
        {
            if (_tracing && _inRoot)
            {
                Trace.Enqueue($"{call}({_args}) = {r}");
                if (Trace.Count > 40)
                {
                    Trace.Dequeue();
                }
            }
            _args = "";
            Count++;
            if (r >= 0)
            {
                return;
            }
            Errors++;
            if (r < -4095 || !allowed.Contains((Errno)(-r)))
            {
                Problems.Add($"{call} returned {r} ({((Errno)(-r))}), not one of {string.Join("/", allowed)}");
            }
        }

        private long Len() => _r.Next(12) switch
        {
            0 => 0,
            1 => -Page,
            2 => long.MaxValue,
            3 => _r.Next(1, 3 * (int)Page),
            4 => 1L << _r.Next(20, 40),
            _ => Page * _r.Next(1, 17),
        };

        private long Addr(List<(long Start, long Len)> regions) => _r.Next(8) switch
        {
            0 => 0,
            1 => _r.NextInt64(0, 1L << 47) & ~(Page - 1),
            2 => -Page,
            3 => 0xC0000000L - Page,
            _ => regions.Count == 0 ? 0x10000000 : regions[_r.Next(regions.Count)].Start + Page * _r.Next(-2, 6) + (_r.Next(10) == 0 ? 8 : 0),
        };

        /// <summary>The root process: the budget's worth of random syscalls, then every child killed and reaped.</summary>
        public async ValueTask Root(UserTask self)
        {
            var regions = new List<(long Start, long Len)>();
            var shadow = new Dictionary<long, int>(); // what the root stored in its own private anonymous pages
            var children = new List<long>();
            // The root must live to the end: it ignores every catchable signal but the fault ones.
            for (int sig = 1; sig <= Signals._NSIG; sig++)
            {
                if (sig is not (Signals.SIGKILL or Signals.SIGSTOP or Signals.SIGSEGV or Signals.SIGBUS or Signals.SIGCHLD))
                {
                    self.SignalIgnore(sig);
                }
            }
            _rootPid = (int)self.Getpid();
            while (More)
            {
                await Step(self, regions, shadow, children, root: true);
            }
            foreach (long c in children)
            {
                await self.Kill((int)c, Signals.SIGKILL);
            }
            while ((await self.Wait4(-1, WaitOptions.__WALL)).Pid > 0)
            {
            }
        }

        private async ValueTask Child(UserTask self, int steps)
        {
            var regions = new List<(long Start, long Len)>();
            var children = new List<long>();
            for (int i = 0; i < steps && More; i++)
            {
                await Step(self, regions, null, children, root: false);
            }
            foreach (long c in children)
            {
                await self.Kill((int)c, Signals.SIGKILL);
            }
            while ((await self.Wait4(-1, WaitOptions.__WALL)).Pid > 0)
            {
            }
            _liveChildren--;
        }

        private async ValueTask Step(UserTask self, List<(long Start, long Len)> regions, Dictionary<long, int>? shadow, List<long> children, bool root)
        {
            if (CheckEveryStep && Kernel is { } kk && kk.CheckInvariants() is { Count: > 0 } bad)
            {
                Problems.Add($"invariant broken before step {Count} (previous op {_lastOp} {_args}): " + string.Join("; ", bad) + " | " + string.Join(" | ", Trace));
                return;
            }
            int op = _r.Next(25);
            _inRoot = root;
            if (root)
            {
                _lastOp = op;
                if (_tracing)
                {
                    Trace.Enqueue($"op {op}");
                }
            }
            switch (op)
            {
                case 0:
                case 1:
                    {
                        long len = Len();
                        int prot = _r.Next(10) == 0 ? _r.Next() : _r.Next(8);
                        int flags = (_r.Next(4) == 0 ? MapFlags.MAP_SHARED : MapFlags.MAP_PRIVATE) | (_r.Next(3) == 0 ? 0 : MapFlags.MAP_ANONYMOUS);
                        if (_r.Next(6) == 0)
                        {
                            flags |= MapFlags.MAP_FIXED;
                        }
                        if (_r.Next(8) == 0)
                        {
                            flags |= _r.Next(2) == 0 ? MapFlags.MAP_POPULATE : MapFlags.MAP_LOCKED;
                        }
                        if (_r.Next(20) == 0)
                        {
                            flags = _r.Next();
                        }
                        int fd = _r.Next(3) == 0 ? -1 : _r.Next(-1, 8);
                        long off = _r.Next(6) switch { 0 => -Page, 1 => 1, 2 => Page * _r.Next(1, 4), _ => 0 };
                        long addr = (flags & MapFlags.MAP_FIXED) != 0 && shadow is not null ? 0x10000000 + Page * _r.Next(64) : Addr(regions);
                        _args = $"{addr:x}, {len:x}, {prot}, 0x{flags:x}, {fd}, {off}";
                        long r = await self.Mmap(addr, len, prot, flags, fd, off);
                        Check("mmap", r, Errno.EINVAL, Errno.ENOMEM, Errno.EBADF, Errno.EACCES, Errno.EPERM, Errno.EAGAIN, Errno.EOVERFLOW, Errno.ENODEV);
                        if ((flags & MapFlags.MAP_FIXED) != 0)
                        {
                            Forget(shadow, addr, len); // mmap_region unmaps a MAP_FIXED range before it can still fail
                        }
                        if (r >= 0)
                        {
                            if ((r & (Page - 1)) != 0)
                            {
                                Problems.Add($"mmap returned an unaligned address {r:x}");
                            }
                            regions.Add((r, len));
                            Forget(shadow, r, len);
                        }
                        break;
                    }
                case 2:
                    {
                        long a = Addr(regions), len = Len();
                        _args = $"{a:x}, {len:x}";
                        Check("munmap", await self.Munmap(a, len), Errno.EINVAL, Errno.ENOMEM);
                        Forget(shadow, a, len);
                        break;
                    }
                case 3:
                    {
                        long a = Addr(regions), len = Len();
                        _args = $"{a:x}, {len:x}";
                        Check("mprotect", await self.Mprotect(a, len, _r.Next(10) == 0 ? _r.Next() : _r.Next(8)), Errno.EINVAL, Errno.ENOMEM, Errno.EACCES);
                        Forget(shadow, a, len);
                        break;
                    }
                case 4:
                    {
                        long a = Addr(regions), oldLen = Len(), newLen = Len();
                        int flags = _r.Next(4);
                        long na = Addr(regions);
                        _args = $"{a:x}, {oldLen:x}, {newLen:x}, {flags}, {na:x}";
                        long r = await self.Mremap(a, oldLen, newLen, flags, na);
                        // A same-size remap without MREMAP_FIXED returns its address unchecked, as
                        // do_mremap's shrink path does (even a "negative" one).
                        if (!(r == a && (flags & MremapFlags.MREMAP_FIXED) == 0))
                        {
                            Check("mremap", r, Errno.EINVAL, Errno.ENOMEM, Errno.EFAULT, Errno.EAGAIN);
                        }
                        Forget(shadow, a, oldLen);
                        Forget(shadow, na, newLen);
                        if (r >= 0)
                        {
                            Forget(shadow, r, newLen);
                            regions.Add((r, newLen));
                        }
                        break;
                    }
                case 5:
                    {
                        long cur = await self.Brk(0);
                        long r = await self.Brk(_r.Next(4) switch { 0 => long.MaxValue, 1 => cur + Page * _r.Next(-4, 64), 2 => -Page, _ => cur + _r.Next(1, 100_000) });
                        Check("brk", r);
                        break;
                    }
                case 6:
                    {
                        long a = Addr(regions), len = Len();
                        int advice = _r.Next(7) - 1;
                        _args = $"{a:x}, {len:x}, {advice}";
                        Check("madvise", await self.Madvise(a, len, advice), Errno.EINVAL, Errno.ENOMEM, Errno.EBADF, Errno.EAGAIN, Errno.EIO);
                        if (advice == Madv.MADV_DONTNEED)
                        {
                            Forget(shadow, a, len);
                        }
                        break;
                    }
                case 7:
                    {
                        long a = Addr(regions), len = Len();
                        var vec = new byte[Math.Clamp(len >> 12, 0, 64)];
                        Check("mincore", await self.Mincore(a, len, vec), Errno.EINVAL, Errno.ENOMEM, Errno.EFAULT, Errno.EAGAIN);
                        Check("msync", await self.Msync(a, len, _r.Next(8)), Errno.EINVAL, Errno.ENOMEM, Errno.EBUSY);
                        break;
                    }
                case 8:
                    {
                        long a = Addr(regions), len = Len();
                        Check(_r.Next(2) == 0 ? "mlock" : "munlock", _r.Next(2) == 0 ? await self.Mlock(a, len) : await self.Munlock(a, len), Errno.EINVAL, Errno.ENOMEM, Errno.EPERM, Errno.EAGAIN);
                        break;
                    }
                case 9:
                case 10:
                case 11:
                    await Access(self, regions, shadow);
                    break;
                case 12:
                    {
                        string name = _names[_r.Next(_names.Length)];
                        int flags = _r.Next(4) | (_r.Next(2) == 0 ? OpenFlags.O_CREAT : 0) | (_r.Next(6) == 0 ? OpenFlags.O_EXCL : 0)
                            | (_r.Next(6) == 0 ? OpenFlags.O_TRUNC : 0) | (_r.Next(6) == 0 ? OpenFlags.O_APPEND : 0);
                        Check("open", await self.Open(name, flags), Errno.ENOENT, Errno.EEXIST, Errno.EMFILE, Errno.ENAMETOOLONG, Errno.EINVAL, Errno.EACCES, Errno.ENFILE, Errno.ENOMEM);
                        break;
                    }
                case 13:
                    {
                        int fd = _r.Next(-1, 8);
                        long buf = Addr(regions), count = _r.Next(3) == 0 ? Len() : _r.Next(0, 3 * (int)Page);
                        if (_r.Next(2) == 0)
                        {
                            long r = await self.Read(fd, buf, count);
                            Check("read", r, Errno.EBADF, Errno.EFAULT, Errno.EINVAL, Errno.EIO, Errno.EAGAIN);
                            if (r > count && count >= 0)
                            {
                                Problems.Add($"read returned {r} for a count of {count}");
                            }
                            Forget(shadow, buf, Math.Max(0, count));
                        }
                        else
                        {
                            Check("write", await self.Write(fd, buf, count), Errno.EBADF, Errno.EFAULT, Errno.EINVAL, Errno.EFBIG, Errno.ENOSPC, Errno.ENOMEM, Errno.EAGAIN, Errno.EPIPE);
                        }
                        break;
                    }
                case 14:
                    {
                        int fd = _r.Next(-1, 8);
                        switch (_r.Next(5))
                        {
                            case 3:
                                {
                                    // A pipe whose ends never block (a blocking read with our own write end open would sleep for ever).
                                    long fds = Addr(regions);
                                    _args = $"{fds:x}";
                                    long r = await self.Pipe(fds);
                                    Check("pipe", r, Errno.EFAULT, Errno.EMFILE, Errno.ENFILE);
                                    Forget(shadow, fds, 8);
                                    if (r == 0)
                                    {
                                        int rd = await self.Load<int>(fds), wr = await self.Load<int>(fds + 4);
                                        Check("fcntl", await self.Fcntl(rd, UserTask.F_SETFL, OpenFlags.O_NONBLOCK), Errno.EBADF);
                                        Check("fcntl", await self.Fcntl(wr, UserTask.F_SETFL, OpenFlags.O_NONBLOCK), Errno.EBADF);
                                    }
                                    break;
                                }
                            case 0:
                                Check("lseek", await self.Lseek(fd, _r.Next(3) == 0 ? Len() : _r.Next(0, 20_000), _r.Next(-1, 4)), Errno.EBADF, Errno.EINVAL, Errno.ESPIPE);
                                break;
                            case 1:
                                Check("ftruncate", await self.Ftruncate(fd, _r.Next(3) == 0 ? Len() : _r.Next(0, 40_000)), Errno.EBADF, Errno.EINVAL, Errno.EFBIG, Errno.EPERM, Errno.ENOMEM);
                                break;
                            case 2:
                                Check("close", await self.Close(fd), Errno.EBADF);
                                break;
                            default:
                                Check("unlink", await self.Unlink(_names[_r.Next(_names.Length)]), Errno.ENOENT, Errno.ENAMETOOLONG, Errno.EROFS);
                                break;
                        }
                        break;
                    }
                case 15:
                case 16:
                    {
                        if (_liveChildren >= 6)
                        {
                            goto case 17;
                        }
                        int steps = _r.Next(5, 40);
                        CloneFlags flags = _r.Next(4) switch
                        {
                            0 => (CloneFlags)Signals.SIGCHLD | (_r.Next(2) == 0 ? CloneFlags.CLONE_VM : 0) | (_r.Next(2) == 0 ? CloneFlags.CLONE_FILES : 0),
                            1 => (CloneFlags)_r.Next(0, 70) | (_r.Next(3) == 0 ? CloneFlags.CLONE_PARENT : 0),
                            2 => (CloneFlags)_r.Next(),
                            _ => (CloneFlags)Signals.SIGCHLD,
                        };
                        if (root)
                        {
                            flags &= ~CloneFlags.CLONE_VM; // a child sharing the root's mm could change the memory it checks
                        }
                        if ((int)(flags & CloneFlags.CSIGNAL) is Signals.SIGSEGV or Signals.SIGBUS or Signals.SIGKILL or Signals.SIGSTOP)
                        {
                            // The exit signal reaches the parent (the root itself, or the root through
                            // CLONE_PARENT), which must live to the end and fault only for real.
                            flags = (flags & ~CloneFlags.CSIGNAL) | (CloneFlags)Signals.SIGCHLD;
                        }
                        _liveChildren++;
                        long pid = await self.Clone(flags, c => Child(c, steps));
                        Check("clone", pid, Errno.EINVAL, Errno.EAGAIN, Errno.ENOMEM, Errno.EPERM);
                        if (pid > 0)
                        {
                            Forks++;
                            children.Add(pid);
                        }
                        else
                        {
                            _liveChildren--;
                        }
                        break;
                    }
                case 17:
                    {
                        int target = _r.Next(6) switch
                        {
                            0 => children.Count > 0 ? (int)children[_r.Next(children.Count)] : 0,
                            1 => 1,
                            2 => 0,
                            3 => _r.Next(-3, 400),
                            _ => children.Count > 0 ? (int)children[_r.Next(children.Count)] : -1,
                        };
                        int sig = _r.Next(10) == 0 ? _r.Next(-2, 80) : _r.Next(0, 32);
                        if ((target <= 0 || target == _rootPid) && sig is Signals.SIGKILL or Signals.SIGSTOP or Signals.SIGTSTP or Signals.SIGTTIN or Signals.SIGTTOU or Signals.SIGSEGV or Signals.SIGBUS)
                        {
                            // The root must live to the end, and a SIGSEGV or SIGBUS in it must mean a real fault.
                            target = children.Count > 0 ? (int)children[0] : 1;
                        }
                        Check("kill", await self.Kill(target, sig), Errno.ESRCH, Errno.EPERM, Errno.EINVAL);
                        if (sig == Signals.SIGKILL)
                        {
                            Killed++;
                        }
                        break;
                    }
                case 18:
                    {
                        var w = await self.Wait4(_r.Next(3) == 0 ? _r.Next(-2, 400) : -1, WaitOptions.WNOHANG | (_r.Next(3) == 0 ? WaitOptions.__WALL : 0));
                        Check("wait4", w.Pid, Errno.ECHILD, Errno.EINVAL);
                        if (w.Pid > 0)
                        {
                            children.Remove(w.Pid);
                        }
                        break;
                    }
                case 19:
                    await self.Nanosleep(TimeSpec.FromNs(_r.Next(0, 3_000_000)));
                    Count++;
                    break;
                case 20:
                    await self.Compute(_r.Next(1_000, 2_000_000));
                    Check("sched_yield", await self.SchedYield());
                    break;
                case 21:
                    {
                        int pid = _r.Next(3) == 0 ? _r.Next(-1, 400) : 0;
                        switch (_r.Next(4))
                        {
                            case 0:
                                Check("nice", await self.Nice(_r.Next(-30, 30)), Errno.EPERM);
                                break;
                            case 1:
                                Check("sched_setscheduler", await self.SchedSetscheduler(pid, (SchedPolicy)_r.Next(-1, 5), _r.Next(-1, 101)), Errno.EINVAL, Errno.EPERM, Errno.ESRCH);
                                break;
                            case 2:
                                Check("sched_setaffinity", await self.SchedSetaffinity(pid, new CpuMask((ulong)_r.NextInt64())), Errno.EINVAL, Errno.EPERM, Errno.ESRCH);
                                break;
                            default:
                                Check("setpriority", await self.Setpriority((PrioWhich)_r.Next(-1, 4), pid, _r.Next(-25, 25)), Errno.EINVAL, Errno.EPERM, Errno.ESRCH, Errno.EACCES);
                                break;
                        }
                        break;
                    }
                case 22:
                    {
                        int sig = _r.Next(0, 66);
                        long r = _r.Next(2) == 0 ? self.Signal(sig, _ => { }) : self.SignalIgnore(sig);
                        Check("signal", r, Errno.EINVAL);
                        break;
                    }
                case 23:
                    {
                        // Any futex op on any word: waits and PI locks always carry a short timeout, so nothing blocks for ever.
                        int cmd = _r.Next(12);
                        int fop = cmd | (_r.Next(2) == 0 ? FutexOp.FUTEX_PRIVATE_FLAG : 0);
                        long a = Addr(regions), a2 = Addr(regions);
                        int val = _r.Next(4) == 0 ? _r.Next() : _r.Next(-2, 4);
                        long timeout = cmd switch
                        {
                            FutexOp.FUTEX_WAIT => _r.Next(8) == 0 ? -1 : _r.Next(0, 2_000_000),
                            FutexOp.FUTEX_LOCK_PI or FutexOp.FUTEX_WAIT_BITSET => self.Now + _r.Next(0, 2_000_000),
                            _ => _r.Next(-1, 4),
                        };
                        int val3 = _r.Next(3) == 0 ? _r.Next() : _r.Next(0, 3);
                        _args = $"{a:x}, {fop}, {val}, {timeout}, {a2:x}, {val3}";
                        Check("futex", await self.Futex(a, fop, val, timeout, a2, val3), Errno.EINVAL, Errno.EFAULT, Errno.EAGAIN,
                            Errno.ETIMEDOUT, Errno.EINTR, Errno.ENOSYS, Errno.EDEADLK, Errno.EPERM, Errno.ESRCH);
                        Forget(shadow, a & ~3L, 8); // LOCK_PI and WAKE_OP write the words
                        Forget(shadow, a2 & ~3L, 8);
                        break;
                    }
                default:
                    Check("getpid", self.Getpid());
                    Check("setpgid", self.Setpgid(0, _r.Next(3) == 0 ? 1 : 0), Errno.EINVAL, Errno.EPERM, Errno.ESRCH);
                    break;
            }
        }

        /// <summary>A load or store: the root only where it may (and checks its own data); a child anywhere.</summary>
        private async ValueTask Access(UserTask self, List<(long Start, long Len)> regions, Dictionary<long, int>? shadow)
        {
            Count++;
            if (shadow is null)
            {
                long a = Addr(regions);
                if (_r.Next(2) == 0)
                {
                    await self.Store(a, _r.Next());
                }
                else
                {
                    await self.Load<int>(a);
                }
                return;
            }
            // The root keeps one private, writable, anonymous test area so its stores cannot fault.
            const long area = 0x20000000;
            if (!_rootArea)
            {
                long r = await self.Mmap(area, 64 * Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS | MapFlags.MAP_FIXED);
                if (r != area)
                {
                    return; // no memory for it now
                }
                _rootArea = true;
            }
            long addr = area + (_r.Next(64 * (int)Page / 4) * 4);
            if (_r.Next(2) == 0)
            {
                int v = _r.Next();
                if (_tracing)
                {
                    Trace.Enqueue($"store {addr:x}");
                }
                await self.Store(addr, v);
                shadow[addr] = v;
            }
            else
            {
                int got = await self.Load<int>(addr);
                int want = shadow.TryGetValue(addr, out int w) ? w : 0;
                if (got != want)
                {
                    Problems.Add($"load at {addr:x} read {got}, but {want} was stored there");
                }
            }
        }

        private bool _rootArea;
        private bool _inRoot;
        private readonly bool _tracing = DebugLevel == "1";
        private int _rootPid;
        private int _lastOp;

        public int LastOp => _lastOp;

        /// <summary>A call may have changed [a, a+len) of the root's test area: stop checking it (and remap later).</summary>
        private void Forget(Dictionary<long, int>? shadow, long a, long len)
        {
            if (shadow is null || len == 0)
            {
                return;
            }
            const long area = 0x20000000, end = area + 64 * Page;
            long hi = len < 0 || a > long.MaxValue - len ? long.MaxValue : a + len;
            if (a < end && hi > area)
            {
                shadow.Clear();
                _rootArea = false;
            }
        }
    }
}
