// Signal numbers (include/asm-i386/signal.h) and their default actions (kernel/signal.c
// SIG_KERNEL_*_MASK), plus the wait4 status encoding (include/linux/wait.h, bits/waitstatus.h).
namespace Kernel.Process;

public static class Signals
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGILL = 4;
    public const int SIGTRAP = 5;
    public const int SIGABRT = 6;
    public const int SIGBUS = 7;
    public const int SIGFPE = 8;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGSEGV = 11;
    public const int SIGUSR2 = 12;
    public const int SIGPIPE = 13;
    public const int SIGALRM = 14;
    public const int SIGTERM = 15;
    public const int SIGSTKFLT = 16;
    public const int SIGCHLD = 17;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;
    public const int SIGTSTP = 20;
    public const int SIGTTIN = 21;
    public const int SIGTTOU = 22;
    public const int SIGURG = 23;
    public const int SIGXCPU = 24;
    public const int SIGXFSZ = 25;
    public const int SIGVTALRM = 26;
    public const int SIGPROF = 27;
    public const int SIGWINCH = 28;
    public const int SIGIO = 29;
    public const int SIGPWR = 30;
    public const int SIGSYS = 31;
    public const int SIGRTMIN = 32;
    public const int _NSIG = 64;

    public static ulong Mask(int sig) => 1UL << (sig - 1);

    public static bool IsStop(int sig) => sig is SIGSTOP or SIGTSTP or SIGTTIN or SIGTTOU;

    /// <summary>Default action ignore (SIG_KERNEL_IGNORE_MASK): CONT, CHLD, WINCH, URG.</summary>
    public static bool DefaultIgnore(int sig) => sig is SIGCONT or SIGCHLD or SIGWINCH or SIGURG;

    /// <summary>Default action dumps core (SIG_KERNEL_COREDUMP_MASK).</summary>
    public static bool DefaultCore(int sig) =>
        sig is SIGQUIT or SIGILL or SIGTRAP or SIGABRT or SIGFPE or SIGSEGV or SIGBUS or SIGSYS or SIGXCPU or SIGXFSZ;

    public static bool Unblockable(int sig) => sig is SIGKILL or SIGSTOP;
}

/// <summary>wait4 options.</summary>
[Flags]
public enum WaitOptions
{
    None = 0,
    WNOHANG = 1,
    WUNTRACED = 2,
    WCONTINUED = 8,
    __WNOTHREAD = 0x20000000,
    __WALL = 0x40000000,
    __WCLONE = unchecked((int)0x80000000),
}

/// <summary>What wait4 returned: the pid (or -errno, or 0 with WNOHANG) and the status word.</summary>
public readonly record struct WaitResult(long Pid, int Status)
{
    public bool WIFEXITED => (Status & 0x7f) == 0;
    public int WEXITSTATUS => (Status >> 8) & 0xff;
    public bool WIFSIGNALED => (Status & 0x7f) != 0 && (Status & 0x7f) != 0x7f;
    public int WTERMSIG => Status & 0x7f;
    public bool WCOREDUMP => (Status & 0x80) != 0;
    public bool WIFSTOPPED => (Status & 0xff) == 0x7f;
    public int WSTOPSIG => WEXITSTATUS;
    public bool WIFCONTINUED => Status == 0xffff;
}

/// <summary>struct timespec.</summary>
public readonly record struct TimeSpec(long Sec, long Nsec)
{
    public long TotalNs => Sec * 1_000_000_000 + Nsec;

    public static TimeSpec FromNs(long ns) => new(ns / 1_000_000_000, ns % 1_000_000_000);

    public static TimeSpec FromMilliseconds(long ms) => FromNs(ms * 1_000_000);

    public bool IsValid => Sec >= 0 && Nsec is >= 0 and < 1_000_000_000;
}

/// <summary>nanosleep's return value and the unslept time (rem).</summary>
public readonly record struct SleepResult(long Ret, TimeSpec Remaining);

/// <summary>getpriority/setpriority `which`.</summary>
public enum PrioWhich
{
    PRIO_PROCESS = 0,
    PRIO_PGRP = 1,
    PRIO_USER = 2,
}
