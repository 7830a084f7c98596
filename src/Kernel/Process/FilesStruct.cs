// Linux 2.6.20 include/linux/file.h struct files_struct: a process's file descriptor table.
// fork copies it (each open file gains a reference); CLONE_FILES shares it; exit closes it.
using Kernel.Mm.Filemap;

namespace Kernel.Process;

internal sealed class FilesStruct
{
    /// <summary>RLIMIT_NOFILE default.</summary>
    public const int NrOpenDefault = 1024;

    public List<KFile?> Fds { get; } = new();

    public int Users { get; set; } = 1;

    public KFile? Get(int fd) => fd >= 0 && fd < Fds.Count ? Fds[fd] : null;

    /// <summary>get_unused_fd: the lowest free descriptor, or -1 at the limit.</summary>
    public int Install(KFile f)
    {
        for (int i = 0; i < Fds.Count; i++)
        {
            if (Fds[i] is null)
            {
                Fds[i] = f;
                return i;
            }
        }
        if (Fds.Count >= NrOpenDefault)
        {
            return -1;
        }
        Fds.Add(f);
        return Fds.Count - 1;
    }

    public FilesStruct Dup()
    {
        var copy = new FilesStruct();
        foreach (var f in Fds)
        {
            if (f is not null)
            {
                f.Get();
            }
            copy.Fds.Add(f);
        }
        return copy;
    }
}
