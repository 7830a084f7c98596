// The files of /proc and /sys, registered at boot by the subsystem that owns each one (the way
// proc_create and sysctl tables do in Linux) instead of a closed switch: the process layer adds
// /proc/stat and /proc/PID/status, the memory code /proc/meminfo and /proc/sys/vm/*, a block
// layer later /sys/block/DEV/queue/scheduler. A file has a show callback and, when writable, a
// store callback that parses the text and returns 0 or -errno, as a sysctl handler does.
using Kernel.Core.Tasks;

namespace Kernel.Core.Proc;

/// <summary>A write handler: parse `text`, apply it, return 0 or -errno (EINVAL for a bad value).</summary>
public delegate long ProcStore(string text);

public sealed class ProcRegistry
{
    private readonly Dictionary<string, Entry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<TaskStruct, string?>> _perTask = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<TaskStruct, IReadOnlyList<string>?>> _perTaskDirs = new(StringComparer.Ordinal);
    private readonly TaskList _tasks;

    private sealed record Entry(Func<string> Show, ProcStore? Store);

    public ProcRegistry(TaskList tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        _tasks = tasks;
    }

    /// <summary>Every registered fixed path, sorted.</summary>
    public IReadOnlyList<string> Paths => _files.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Per-process file names (the NAME of /proc/PID/NAME), sorted.</summary>
    public IReadOnlyList<string> PerTaskNames => _perTask.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Add a file ("/proc/meminfo", "/sys/block/sda/queue/scheduler"); read-only without `store`.</summary>
    public void Register(string path, Func<string> show, ProcStore? store = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(show);
        if (!path.StartsWith("/proc/", StringComparison.Ordinal) && !path.StartsWith("/sys/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{path}: only /proc and /sys files can be registered.", nameof(path));
        }
        if (!_files.TryAdd(path, new Entry(show, store)))
        {
            throw new InvalidOperationException($"{path} is already registered.");
        }
    }

    /// <summary>Remove a file (a device detached, an elevator's tunables replaced); false if it was not registered.</summary>
    public bool Unregister(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return _files.Remove(path);
    }

    /// <summary>Add /proc/PID/`name` for every task; `show` returns null when the file makes no sense for it.</summary>
    public void RegisterPerTask(string name, Func<TaskStruct, string?> show)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(show);
        if (!_perTask.TryAdd(name, show))
        {
            throw new InvalidOperationException($"/proc/PID/{name} is already registered.");
        }
    }

    /// <summary>Add a writable /proc/PID/`name` (oom_adj): `store` parses and applies a write for the task, 0 or -errno.</summary>
    public void RegisterPerTask(string name, Func<TaskStruct, string?> show, Func<TaskStruct, string, long> store)
    {
        ArgumentNullException.ThrowIfNull(store);
        RegisterPerTask(name, show);
        _perTaskStore[name] = store;
    }

    private readonly Dictionary<string, Func<TaskStruct, string, long>> _perTaskStore = new(StringComparer.Ordinal);

    /// <summary>Add the directory /proc/PID/`name` (fd): `list` gives its entries for a task, or null.</summary>
    public void RegisterPerTaskDir(string name, Func<TaskStruct, IReadOnlyList<string>?> list)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(list);
        if (_perTask.ContainsKey(name) || !_perTaskDirs.TryAdd(name, list))
        {
            throw new InvalidOperationException($"/proc/PID/{name} is already registered.");
        }
    }

    /// <summary>
    /// A sysctl integer in proc_dointvec's format ("%d\n"): a write takes one decimal integer
    /// (surrounding white space allowed); anything else, or a value outside [min, max]
    /// (proc_dointvec_minmax), is -EINVAL. `set` may itself refuse with -errno.
    /// </summary>
    public void RegisterInt(string path, Func<long> get, Func<long, long> set, long min = int.MinValue, long max = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(get);
        ArgumentNullException.ThrowIfNull(set);
        Register(path, () => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{get()}\n"), text =>
        {
            if (!TryParseInts(text, out var values) || values.Length != 1 || values[0] < min || values[0] > max)
            {
                return Errno.EINVAL.Ret();
            }
            return set(values[0]);
        });
    }

    /// <summary>A sysctl integer vector, shown tab-separated as proc_dointvec does ("256\t32\n").</summary>
    public void RegisterIntVector(string path, Func<long[]> get, Func<long[], long> set, long min = int.MinValue, long max = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(get);
        ArgumentNullException.ThrowIfNull(set);
        Register(path, () => string.Join('\t', get()) + "\n", text =>
        {
            var current = get();
            if (!TryParseInts(text, out var values) || values.Length == 0 || values.Length > current.Length || values.Any(v => v < min || v > max))
            {
                return Errno.EINVAL.Ret();
            }
            // proc_dointvec fills from the first element; the rest keep their values.
            values.CopyTo(current, 0);
            return set(current);
        });
    }

    /// <summary>Parse white-space-separated decimal integers that fit an int, as proc_dointvec reads them.</summary>
    public static bool TryParseInts(string text, out long[] values)
    {
        values = Array.Empty<long>();
        if (text is null)
        {
            return false;
        }
        var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var result = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int v))
            {
                return false;
            }
            result[i] = v;
        }
        values = result;
        return true;
    }

    /// <summary>Read a file; null when it does not exist.</summary>
    public string? Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (_files.TryGetValue(path, out var e))
        {
            return e.Show();
        }
        return TaskFile(path, out var task, out var show) ? show!(task!) : null;
    }

    /// <summary>Write a file: 0 or -errno (-ENOENT: no such file; -EACCES: read-only; -EINVAL: a bad value).</summary>
    public long Write(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        if (_files.TryGetValue(path, out var e))
        {
            return e.Store is null ? Errno.EACCES.Ret() : e.Store(text);
        }
        if (TaskFile(path, out var task, out _))
        {
            return _perTaskStore.TryGetValue(path[(path.LastIndexOf('/') + 1)..], out var store) && task is not null ? store(task, text) : Errno.EACCES.Ret();
        }
        return Errno.ENOENT.Ret();
    }

    /// <summary>Whether `path` names a writable file.</summary>
    public bool IsWritable(string path) => _files.TryGetValue(path, out var e) && e.Store is not null;

    /// <summary>
    /// /proc/PID/NAME and /proc/PID/task/TID/NAME. As in 2.6, /proc/TID of a thread that is not
    /// its group's leader still resolves (only readdir hides it), and a task directory holds only
    /// the threads of PID's own group.
    /// </summary>
    private bool TaskFile(string path, out TaskStruct? task, out Func<TaskStruct, string?>? show)
    {
        task = null;
        show = null;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is not (3 or 5) || parts[0] != "proc" || !TryPid(parts[1], out int pid)
            || !_perTask.TryGetValue(parts[^1], out show))
        {
            return false;
        }
        task = _tasks.Find(pid);
        if (task is not null && parts.Length == 5)
        {
            task = parts[2] == "task" && TryPid(parts[3], out int tid) && _tasks.Find(tid) is { } t && t.Tgid == task.Tgid ? t : null;
        }
        return task is not null;
    }

    private static bool TryPid(string s, out int pid) =>
        int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out pid);

    /// <summary>
    /// readdir of a /proc directory: "/proc" lists the thread-group leaders' pids (and the fixed
    /// top-level names), "/proc/PID" and "/proc/PID/task/TID" the per-task files (plus "task"),
    /// "/proc/PID/task" the group's thread ids. Null when the directory does not exist.
    /// </summary>
    public IReadOnlyList<string>? ReadDir(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length == 0 || parts[0] != "proc")
        {
            return null;
        }
        if (parts.Length == 1)
        {
            var names = new List<string>();
            foreach (var t in _tasks)
            {
                if (t.Pid == t.Tgid && !t.IsIdleTask)
                {
                    names.Add(t.Pid.ToString(ci));
                }
            }
            names.AddRange(_files.Keys.Where(k => k.StartsWith("/proc/", StringComparison.Ordinal))
                .Select(k => k.Split('/')[2]).Distinct().Order(StringComparer.Ordinal));
            return names;
        }
        if (!TryPid(parts[1], out int pid) || _tasks.Find(pid) is not { } task)
        {
            return null;
        }
        if (parts.Length == 2 || (parts.Length == 4 && parts[2] == "task" && TryPid(parts[3], out int tid) && _tasks.Find(tid) is { } th && th.Tgid == task.Tgid))
        {
            var names = PerTaskNames.Concat(_perTaskDirs.Keys);
            return (parts.Length == 2 ? names.Append("task") : names).Order(StringComparer.Ordinal).ToList();
        }
        if (parts.Length == 3 && _perTaskDirs.TryGetValue(parts[2], out var list))
        {
            return list(task);
        }
        if (parts.Length == 3 && parts[2] == "task")
        {
            var tids = new List<int>();
            foreach (var t in _tasks)
            {
                if (t.Tgid == task.Tgid)
                {
                    tids.Add(t.Pid);
                }
            }
            tids.Sort();
            return tids.Select(t => t.ToString(ci)).ToList();
        }
        return null;
    }
}
