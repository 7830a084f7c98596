// /proc/PID/maps (2.6.20 fs/proc/task_mmu.c show_map), /proc/PID/statm, and the Vm* lines of
// /proc/PID/status (task_mem).
using System.Globalization;
using System.Text;

namespace Kernel.Mm.Memory;

public static class ProcMaps
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static string Maps(MmStruct mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var sb = new StringBuilder();
        int ptr = mm.Paging.Arch == Architecture.I386Pae ? 4 : 8;
        foreach (var v in mm.Vmas.InOrder())
        {
            string line = string.Create(Ci,
                $"{v.VmStart:x8}-{v.VmEnd:x8} {(v.Has(VmFlags.VM_READ) ? 'r' : '-')}{(v.Has(VmFlags.VM_WRITE) ? 'w' : '-')}{(v.Has(VmFlags.VM_EXEC) ? 'x' : '-')}{(v.Has(VmFlags.VM_MAYSHARE) ? 's' : 'p')} {(v.Kind is VmaKind.Text or VmaKind.Data ? 0 : v.VmPgoff << MemoryLayout.PAGE_SHIFT):x8} 00:00 0 ");
            string? name = null;
            if (v.File is { } f)
            {
                line = string.Create(Ci,
                    $"{v.VmStart:x8}-{v.VmEnd:x8} {(v.Has(VmFlags.VM_READ) ? 'r' : '-')}{(v.Has(VmFlags.VM_WRITE) ? 'w' : '-')}{(v.Has(VmFlags.VM_EXEC) ? 'x' : '-')}{(v.Has(VmFlags.VM_MAYSHARE) ? 's' : 'p')} {v.VmPgoff << MemoryLayout.PAGE_SHIFT:x8} 00:0f {f.Inode.Ino} ");
                name = f.Inode.Unlinked && !f.Inode.Name.EndsWith("(deleted)", StringComparison.Ordinal) ? f.Inode.Name + " (deleted)" : f.Inode.Name;
            }
            else if (v.VmStart <= mm.StartBrk && v.VmEnd >= mm.Brk && v.Kind == VmaKind.Heap)
            {
                name = "[heap]";
            }
            else if (v.VmStart <= mm.StartStack && v.VmEnd >= mm.StartStack)
            {
                name = "[stack]";
            }
            sb.Append(line);
            if (name is not null)
            {
                sb.Append(' ', Math.Max(1, 25 + ptr * 6 - line.Length));
                sb.Append(name);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static string Statm(MmStruct mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var s = mm.Statm();
        return string.Create(Ci, $"{s.Size} {s.Resident} {s.Shared} {s.Text} {s.Lib} {s.Data} 0\n");
    }

    /// <summary>task_mem: the Vm* lines of /proc/PID/status.</summary>
    public static string StatusLines(MmStruct mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        long K(long pages) => pages << (MemoryLayout.PAGE_SHIFT - 10);
        long stack = mm.Vmas.InOrder().Where(v => v.Kind == VmaKind.Stack).Sum(v => v.Pages);
        long text = (mm.EndCode - mm.StartCode) >> MemoryLayout.PAGE_SHIFT;
        long data = mm.TotalVm - stack - text;
        return string.Create(Ci,
            $"VmPeak:\t{K(mm.HiwaterVm),8} kB\nVmSize:\t{K(mm.TotalVm),8} kB\nVmLck:\t{K(mm.LockedVm),8} kB\nVmHWM:\t{K(mm.HiwaterRss),8} kB\nVmRSS:\t{K(mm.AnonRss + mm.FileRss),8} kB\nVmData:\t{K(data),8} kB\nVmStk:\t{K(stack),8} kB\nVmExe:\t{K(text),8} kB\nVmLib:\t{0,8} kB\nVmPTE:\t{K(mm.NrPtes),8} kB\n");
    }
}
