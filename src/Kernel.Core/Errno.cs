// Linux errno values (include/asm-generic/errno-base.h, errno.h; i386 numbering).
// Syscalls return them negated, as the raw kernel ABI does: -EINVAL is -22.
namespace Kernel.Core;

public enum Errno
{
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EPIPE = 32,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    EOVERFLOW = 75,
    EOPNOTSUPP = 95,
    ETIMEDOUT = 110,
    /// <summary>The owner of a robust mutex died holding it.</summary>
    EOWNERDEAD = 130,

    // include/linux/errno.h: kernel-internal codes, never seen by a program. A syscall that a
    // signal interrupted returns one of them; the signal-delivery path turns it into a restart
    // or -EINTR.
    /// <summary>Restart if the signal has no handler or SA_RESTART, else -EINTR.</summary>
    ERESTARTSYS = 512,
    /// <summary>Always restart, handler or not (FUTEX_LOCK_PI).</summary>
    ERESTARTNOINTR = 513,
    /// <summary>Restart after a signal without a handler; -EINTR after a handler.</summary>
    ERESTARTNOHAND = 514,
    /// <summary>Restart through restart_syscall (nanosleep's remaining time).</summary>
    ERESTART_RESTARTBLOCK = 516,
    /// <summary>The operation would sleep here and must be run again once the wait is over (AIO's retry code).</summary>
    EIOCBRETRY = 530,
}

/// <summary>Helpers for the negative-errno return convention.</summary>
public static class ErrnoExtensions
{
    /// <summary>The syscall return value for this error: -errno.</summary>
    public static long Ret(this Errno e) => -(long)e;

    /// <summary>True when a raw syscall return value is an error (-4095..-1, as IS_ERR_VALUE).</summary>
    public static bool IsError(long ret) => ret < 0 && ret >= -4095;
}
