// The mount table (the vfsmount list of Linux 2.6.20 fs/namespace.c), reduced to what path lookup
// needs: each mount point names a file system, and a path goes to the mount with the longest
// matching prefix, which sees the rest of the path. The root mount is tmpfs, so plain names
// ("/f", "data") reach it unchanged. /proc/mounts lists the table in Linux's format.
using Kernel.Core;
using Kernel.Mm.Filemap;

namespace Kernel.Fs;

public sealed class MountTable
{
    private readonly List<(string Point, IFileSystem Fs)> _mounts = new();

    internal MountTable(IFileSystem root, Kernel.Core.Proc.ProcRegistry proc)
    {
        _mounts.Add(("/", root));
        proc.Register("/proc/mounts", Show);
    }

    /// <summary>The mounts in the order they were made (the root first).</summary>
    public IReadOnlyList<(string Point, IFileSystem Fs)> Mounts => _mounts;

    /// <summary>
    /// mount(2) of `fs` on `mountPoint` (absolute, no trailing '/'). 0, -EINVAL for a bad point, or
    /// -EBUSY when something is mounted there already.
    /// </summary>
    public long Mount(string mountPoint, IFileSystem fs)
    {
        ArgumentNullException.ThrowIfNull(mountPoint);
        ArgumentNullException.ThrowIfNull(fs);
        if (mountPoint.Length < 2 || mountPoint[0] != '/' || mountPoint[^1] == '/' || mountPoint.Contains("//", StringComparison.Ordinal))
        {
            return Errno.EINVAL.Ret();
        }
        if (_mounts.Any(m => m.Point == mountPoint))
        {
            return Errno.EBUSY.Ret();
        }
        _mounts.Add((mountPoint, fs));
        return 0;
    }

    /// <summary>umount(2): 0, or -EINVAL when nothing (or the root) is mounted there.</summary>
    public long Umount(string mountPoint)
    {
        int i = _mounts.FindIndex(m => m.Point == mountPoint);
        if (i <= 0)
        {
            return Errno.EINVAL.Ret();
        }
        _mounts.RemoveAt(i);
        return 0;
    }

    /// <summary>PATH_MAX: a path, with its terminating NUL, fits in 4096 bytes.</summary>
    public const int PATH_MAX = 4096;

    /// <summary>NAME_MAX: one path component is at most 255 bytes.</summary>
    public const int NAME_MAX = 255;

    /// <summary>
    /// getname and the component walk of path_lookup: -ENOENT for an empty path, -ENAMETOOLONG for
    /// a path of PATH_MAX bytes or more or a component longer than NAME_MAX; 0 otherwise.
    /// </summary>
    public static long CheckPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return Errno.ENOENT.Ret();
        }
        if (System.Text.Encoding.UTF8.GetByteCount(path) >= PATH_MAX)
        {
            return Errno.ENAMETOOLONG.Ret();
        }
        foreach (var component in path.Split('/'))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(component) > NAME_MAX)
            {
                return Errno.ENAMETOOLONG.Ret();
            }
        }
        return 0;
    }

    /// <summary>
    /// path_lookup for the syscalls: the path's checks (CheckPath), then the file system it reaches
    /// and the path inside it. 0 or -errno.
    /// </summary>
    public long Lookup(string path, out IFileSystem fs, out string rest)
    {
        long err = CheckPath(path);
        (fs, rest) = err < 0 ? (_mounts[0].Fs, path) : Resolve(path);
        return err;
    }

    /// <summary>The file system a path reaches and the path inside it.</summary>
    public (IFileSystem Fs, string Path) Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var best = _mounts[0];
        foreach (var m in _mounts)
        {
            if (m.Point.Length > best.Point.Length && path.StartsWith(m.Point, StringComparison.Ordinal)
                && (path.Length == m.Point.Length || path[m.Point.Length] == '/'))
            {
                best = m;
            }
        }
        if (best.Point == "/")
        {
            return (best.Fs, path);
        }
        string rest = path[best.Point.Length..];
        return (best.Fs, rest.Length == 0 ? "/" : rest);
    }

    private string Show()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (point, fs) in _mounts)
        {
            sb.Append(fs.Name).Append(' ').Append(point).Append(' ').Append(fs.Name).Append(" rw 0 0\n");
        }
        return sb.ToString();
    }
}
