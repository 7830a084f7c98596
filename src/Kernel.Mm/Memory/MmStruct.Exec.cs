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
    public static MmStruct? CreateForExec(MemorySubsystem mem)
    {
        var mm = Create(mem);
        if (mm is null)
        {
            return null;
        }
        long text = mem.Paging.Arch == Architecture.I386Pae ? 0x08048000L : 0x00400000L;
        long data = mem.Paging.Arch == Architecture.I386Pae ? text + MemoryLayout.PAGE_SIZE : 0x00600000L;
        const VmFlags may = VmFlags.VM_MAYREAD | VmFlags.VM_MAYWRITE | VmFlags.VM_MAYEXEC;
        // The writable data page and the stack (VM_STACK_FLAGS has VM_ACCOUNT) are charged, as the
        // ELF data mapping and setup_arg_pages charge them.
        long charged = 1 + (InitialStack >> MemoryLayout.PAGE_SHIFT);
        if (mm.VmEnoughMemory(charged) < 0)
        {
            mm.ExitMmap();
            return null;
        }
        bool ok = mm.MapRegion(text, MemoryLayout.PAGE_SIZE, VmFlags.VM_READ | VmFlags.VM_EXEC | may | VmFlags.VM_DENYWRITE, VmaKind.Text) is not null
            && mm.MapRegion(data, MemoryLayout.PAGE_SIZE, VmFlags.VM_READ | VmFlags.VM_WRITE | may | VmFlags.VM_ACCOUNT, VmaKind.Data) is not null
            && mm.MapRegion(mm.Paging.TaskSize - InitialStack, InitialStack, VmFlags.VM_READ | VmFlags.VM_WRITE | may | VmFlags.VM_GROWSDOWN | VmFlags.VM_ACCOUNT, VmaKind.Stack) is not null;
        if (!ok)
        {
            // Areas that were created give their charge back as they go; the rest is returned here.
            long mapped = mm.Vmas.InOrder().Where(v => v.Has(VmFlags.VM_ACCOUNT)).Sum(v => v.Pages);
            mem.Overcommit.Unacct(charged - mapped);
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
