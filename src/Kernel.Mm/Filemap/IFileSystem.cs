// What the path walk needs from a mounted file system (the roles of struct file_system_type,
// super_operations and the directory inode's lookup/create/unlink in Linux 2.6.20): open a name
// under the mount point and unlink one. tmpfs implements it; a block-device file system or a
// test's fake device does the same, and LinuxKernel.Mounts decides which one a path reaches.
namespace Kernel.Mm.Filemap;

public interface IFileSystem
{
    /// <summary>The type's name ("tmpfs"), as /proc/mounts shows it.</summary>
    string Name { get; }

    /// <summary>open(2) of `path` (relative to the mount point, starting with '/'): a KFile, or null and -errno.</summary>
    (KFile? File, long Error) Open(string path, int flags);

    /// <summary>unlink(2) of `path` (relative to the mount point): 0 or -errno.</summary>
    long Unlink(string path);
}
