// Linux 2.6.20 include/asm-i386/uaccess.h and arch/i386/lib/usercopy.c: the kernel's accesses to
// user memory (copy_to_user, copy_from_user, get_user, put_user). They go through the page tables
// like the program's own accesses and fault pages in the same way, but a fault that cannot be
// fixed (no mapping, no permission, no memory, a file page past EOF) is caught by the exception
// table: the copy stops and the syscall returns -EFAULT. No signal is raised.
using System.Runtime.InteropServices;
using Kernel.Core;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Arch;

public static class Uaccess
{
    /// <summary>
    /// The frame behind user address `addr` for a kernel access (faulting it in as needed), or
    /// -EFAULT. The executing task pays the faults.
    /// </summary>
    public static int UserPage(MmStruct mm, long addr, bool write)
    {
        ArgumentNullException.ThrowIfNull(mm);
        while (true)
        {
            int pfn = mm.Translate(addr, write);
            if (pfn >= 0)
            {
                return pfn;
            }
            var p = mm.Memory.Machine.RequireExecuting();
            if (PageFault.DoPageFault(mm, p, addr, write, userMode: false) != FaultResult.Minor)
            {
                return (int)Errno.EFAULT.Ret();
            }
        }
    }

    /// <summary>copy_to_user: returns the number of bytes NOT copied (0 on success), as Linux does.</summary>
    public static long CopyToUser(MmStruct mm, long dst, ReadOnlySpan<byte> src)
    {
        int done = 0;
        while (done < src.Length)
        {
            long a = dst + done;
            int off = (int)(a & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(src.Length - done, MemoryLayout.PAGE_SIZE - off);
            int pfn = UserPage(mm, a, write: true);
            if (pfn < 0)
            {
                break;
            }
            src.Slice(done, n).CopyTo(mm.Memory.WritePage(pfn, off, n));
            done += n;
        }
        Charge(mm, done);
        return src.Length - done;
    }

    /// <summary>copy_from_user: returns the number of bytes NOT copied; the rest of `dst` is zeroed, as Linux does.</summary>
    public static long CopyFromUser(MmStruct mm, Span<byte> dst, long src) => CopyFromUser(mm, dst, src, zeroTail: true);

    /// <summary>
    /// copy_from_user, or with `zeroTail` false the __copy_from_user_inatomic form that leaves
    /// what it could not copy untouched (the page cache must keep the file's bytes there).
    /// </summary>
    internal static long CopyFromUser(MmStruct mm, Span<byte> dst, long src, bool zeroTail)
    {
        int done = 0;
        while (done < dst.Length)
        {
            long a = src + done;
            int off = (int)(a & (MemoryLayout.PAGE_SIZE - 1));
            int n = Math.Min(dst.Length - done, MemoryLayout.PAGE_SIZE - off);
            int pfn = UserPage(mm, a, write: false);
            if (pfn < 0)
            {
                if (zeroTail)
                {
                    dst[done..].Clear();
                }
                break;
            }
            mm.Memory.ReadPage(pfn).Slice(off, n).CopyTo(dst.Slice(done, n));
            done += n;
        }
        Charge(mm, done);
        return dst.Length - done;
    }

    /// <summary>get_user: 0 with the value, or -EFAULT.</summary>
    public static long GetUser<T>(MmStruct mm, long addr, out T value) where T : unmanaged
    {
        value = default;
        var bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1));
        return CopyFromUser(mm, bytes, addr) == 0 ? 0 : Errno.EFAULT.Ret();
    }

    /// <summary>put_user: 0, or -EFAULT.</summary>
    public static long PutUser<T>(MmStruct mm, long addr, T value) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(ref value, 1));
        return CopyToUser(mm, addr, bytes) == 0 ? 0 : Errno.EFAULT.Ret();
    }

    /// <summary>
    /// futex_atomic_cmpxchg_inatomic (a locked cmpxchg on a user word): store `newval` if the word
    /// holds `expected`; `current` is what it held. 0, or -EFAULT (unmapped, read-only, misaligned
    /// across a page). One step between two sleeps, so it is atomic against every other task.
    /// </summary>
    public static long CmpXchgUser(MmStruct mm, long addr, int expected, int newval, out int current)
    {
        current = 0;
        int off = (int)(addr & (MemoryLayout.PAGE_SIZE - 1));
        if (off + sizeof(int) > MemoryLayout.PAGE_SIZE)
        {
            return Errno.EFAULT.Ret();
        }
        int pfn = UserPage(mm, addr, write: true);
        if (pfn < 0)
        {
            return pfn;
        }
        var page = mm.Memory.WritePage(pfn, off, sizeof(int));
        current = MemoryMarshal.Read<int>(page);
        if (current == expected)
        {
            MemoryMarshal.Write(page, in newval);
        }
        Charge(mm, sizeof(int));
        return 0;
    }

    /// <summary>Charge the copy's time to the executing task (rep movsl: per byte copied).</summary>
    internal static void Charge(MmStruct mm, long bytes)
    {
        var m = mm.Memory.Machine;
        long ns = bytes * mm.Memory.Options.Costs.CopyUserPerKbNs / 1024;
        if (ns > 0)
        {
            m.Charge(ns);
        }
    }
}
