// The address-space layout exec would give a program (fs/binfmt_elf.c + setup_arg_pages): a text
// page at the classic ELF base, a data page after it, the break right behind the data, and a
// 128 KiB stack that grows down from TASK_SIZE. Programs are C# methods, so text and data are
// anonymous stand-ins for the ELF's file mappings.
namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    /// <summary>Initial stack size (MAX_ARG_PAGES worth).</summary>
    public const long InitialStack = 128 * 1024;

    /// <summary>Create an address space with a fresh exec layout; null when memory runs out.</summary>
    public static MmStruct? CreateForExec(PglistData node)
    {
        var mm = Create(node);
        if (mm is null)
        {
            return null;
        }
        long text = node.Paging.Arch == Architecture.I386Pae ? 0x08048000L : 0x00400000L;
        long data = node.Paging.Arch == Architecture.I386Pae ? text + MemoryLayout.PAGE_SIZE : 0x00600000L;
        const VmFlags may = VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
        bool ok = mm.MapRegion(text, MemoryLayout.PAGE_SIZE, VmFlags.VM_READ | VmFlags.VM_EXEC | may | VmFlags.VM_DENYWRITE, VmaKind.Text) is not null
            && mm.MapRegion(data, MemoryLayout.PAGE_SIZE, VmFlags.VM_READ | VmFlags.VM_WRITE | may, VmaKind.Data) is not null
            && mm.MapRegion(mm.Paging.TaskSize - InitialStack, InitialStack, VmFlags.VM_READ | VmFlags.VM_WRITE | may | VmFlags.VM_GROWSDOWN, VmaKind.Stack) is not null;
        if (!ok)
        {
            mm.ExitMmap();
            return null;
        }
        mm.StartCode = text;
        mm.EndCode = text + MemoryLayout.PAGE_SIZE;
        mm.StartData = data;
        mm.EndData = data + MemoryLayout.PAGE_SIZE;
        mm.StartBrk = mm.Brk = mm.EndData;
        mm.StartStack = mm.Paging.TaskSize - 256;
        mm.UpdateHiwater();
        return mm;
    }
}
