// Linux 2.6.20 include/linux/mm.h struct vm_area_struct and the VM_ flags. A VMA is a host object
// (kept in its mm's tree); its emulated footprint is an object of the vm_area_struct slab cache.
using Kernel.Mm.Slab;

namespace Kernel.Mm.Memory;

[Flags]
public enum VmFlags : uint
{
    VM_READ = 0x00000001,
    VM_WRITE = 0x00000002,
    VM_EXEC = 0x00000004,
    VM_SHARED = 0x00000008,
    VM_MAYREAD = 0x00000010,
    VM_MAYWRITE = 0x00000020,
    VM_MAYEXEC = 0x00000040,
    VM_MAYSHARE = 0x00000080,
    VM_GROWSDOWN = 0x00000100,
    VM_GROWSUP = 0x00000200,
    VM_DENYWRITE = 0x00000800,
    VM_EXECUTABLE = 0x00001000,
    VM_LOCKED = 0x00002000,
    VM_IO = 0x00004000,
    VM_SEQ_READ = 0x00008000,
    VM_RAND_READ = 0x00010000,
    VM_DONTCOPY = 0x00020000,
    VM_DONTEXPAND = 0x00040000,
    VM_RESERVED = 0x00080000,
    VM_ACCOUNT = 0x00100000,
}

/// <summary>What a VMA maps, for /proc/PID/maps naming.</summary>
public enum VmaKind
{
    Anonymous,
    Text,
    Data,
    Heap,
    Stack,
}

public sealed class Vma
{
    internal Vma(MmStruct mm, long start, long end, VmFlags flags, long pgoff, VmaKind kind)
    {
        Mm = mm;
        VmStart = start;
        VmEnd = end;
        VmFlagsValue = flags;
        VmPgoff = pgoff;
        Kind = kind;
    }

    public MmStruct Mm { get; }

    /// <summary>First address (inclusive), page aligned.</summary>
    public long VmStart { get; internal set; }

    /// <summary>First address after the area (exclusive), page aligned.</summary>
    public long VmEnd { get; internal set; }

    public VmFlags VmFlagsValue { get; internal set; }

    /// <summary>Offset in pages into the mapped object (for anonymous areas: vm_start >> PAGE_SHIFT).</summary>
    public long VmPgoff { get; internal set; }

    public VmaKind Kind { get; internal set; }

    /// <summary>vm_file: the mapped tmpfs file (null for anonymous memory).</summary>
    public Filemap.KFile? File { get; internal set; }

    /// <summary>vm_ops: set by the file's mmap; null for anonymous memory (do_anonymous_page).</summary>
    public Filemap.VmOperations? VmOps { get; set; }

    /// <summary>vma->anon_vma: set at the first anonymous page (objrmap), shared with forked copies.</summary>
    public Rmap.AnonVma? AnonVma { get; internal set; }

    /// <summary>The vm_area_struct's slab object.</summary>
    internal SlabObject SlabObj = SlabObject.None;

    // AVL links (the mm's tree).
    internal Vma? Left;
    internal Vma? Right;
    internal int Height = 1;

    public long Pages => (VmEnd - VmStart) >> MemoryLayout.PAGE_SHIFT;

    /// <summary>linear_page_index: the file (or anon_vma) page offset `address` maps in this area.</summary>
    public long LinearPageIndex(long address) => ((address - VmStart) >> MemoryLayout.PAGE_SHIFT) + VmPgoff;

    public bool Has(VmFlags f) => (VmFlagsValue & f) != 0;

    public override string ToString() => $"{VmStart:x8}-{VmEnd:x8} {VmFlagsValue}";
}
