// Linux 2.6.20 include/linux/fs.h: the block device ioctl numbers (_IO(0x12, n) and friends).
// Three of them carry sizeof(size_t) in their number, so they differ between i386 and x86_64;
// `For(arch)` gives the numbers a program of that architecture uses.
using Kernel.Mm;

namespace Kernel.Block;

public static class BlockIoctl
{
    private const uint Type = 0x12;

    public const uint BLKROSET = (Type << 8) | 93;
    public const uint BLKROGET = (Type << 8) | 94;
    public const uint BLKRRPART = (Type << 8) | 95;
    public const uint BLKGETSIZE = (Type << 8) | 96;
    public const uint BLKFLSBUF = (Type << 8) | 97;
    public const uint BLKRASET = (Type << 8) | 98;
    public const uint BLKRAGET = (Type << 8) | 99;
    public const uint BLKFRASET = (Type << 8) | 100;
    public const uint BLKFRAGET = (Type << 8) | 101;
    public const uint BLKSECTSET = (Type << 8) | 102;
    public const uint BLKSECTGET = (Type << 8) | 103;
    public const uint BLKSSZGET = (Type << 8) | 104;

    /// <summary>_IOR(0x12, nr, size_t) and _IOW(0x12, nr, size_t) for `arch`.</summary>
    private static uint Ior(uint nr, int size) => (2u << 30) | ((uint)size << 16) | (Type << 8) | nr;

    private static uint Iow(uint nr, int size) => (1u << 30) | ((uint)size << 16) | (Type << 8) | nr;

    /// <summary>sizeof(long) and sizeof(size_t) on `arch`.</summary>
    public static int LongSize(Architecture arch) => arch == Architecture.I386Pae ? 4 : 8;

    /// <summary>BLKBSZGET for `arch`: the soft block size.</summary>
    public static uint BLKBSZGET(Architecture arch) => Ior(112, LongSize(arch));

    /// <summary>BLKBSZSET for `arch`.</summary>
    public static uint BLKBSZSET(Architecture arch) => Iow(113, LongSize(arch));

    /// <summary>BLKGETSIZE64 for `arch`: the size in bytes, as a u64.</summary>
    public static uint BLKGETSIZE64(Architecture arch) => Ior(114, LongSize(arch));
}
