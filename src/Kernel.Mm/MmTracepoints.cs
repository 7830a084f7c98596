// The memory code's tracepoints, registered with the kernel's hub at boot: page_fault_user
// (every fault a task takes, with its outcome) and mm_page_alloc (page allocations and frees).
using Kernel.Core;
using Kernel.Core.Trace;

namespace Kernel.Mm;

public sealed class MmTracepoints
{
    internal MmTracepoints(Tracepoints hub)
    {
        PageFault = hub.Register<PageFaultUser>("page_fault_user");
        PageAlloc = hub.Register<MmPageAlloc>("mm_page_alloc");
    }

    public Tracepoint<PageFaultUser> PageFault { get; }

    public Tracepoint<MmPageAlloc> PageAlloc { get; }
}

/// <summary>exceptions:page_fault_user — a user-mode page fault and how it ended.</summary>
public readonly record struct PageFaultUser(long TimeNs, int Cpu, int Pid, long Address, bool Write, string Result) : ITraceEvent
{
    public string Name => "page_fault_user";

    public string FormatArgs() => $"address=0x{Address:x} pid={Pid} error_code={(Write ? "write" : "read")} result={Result}";
}

/// <summary>kmem:mm_page_alloc / mm_page_free.</summary>
public readonly record struct MmPageAlloc(long TimeNs, int Cpu, int Pfn, int Order, uint GfpFlags, bool Free) : ITraceEvent
{
    public string Name => Free ? "mm_page_free" : "mm_page_alloc";

    public string FormatArgs() => Free ? $"pfn={Pfn} order={Order}" : $"pfn={Pfn} order={Order} gfp_flags=0x{GfpFlags:x}";
}
