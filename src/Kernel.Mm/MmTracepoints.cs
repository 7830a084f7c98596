// The memory code's tracepoints, registered with the kernel's hub at boot: page_fault_user
// (every fault a task takes, with its outcome), mm_page_alloc (page allocations and frees), and
// reclaim's, named as later kernels name them: mm_vmscan_kswapd_wake and _sleep,
// mm_vmscan_lru_shrink_inactive (one batch of shrink_inactive_list) and mm_vmscan_writepage.
using Kernel.Core;
using Kernel.Core.Trace;

namespace Kernel.Mm;

public sealed class MmTracepoints
{
    internal MmTracepoints(Tracepoints hub)
    {
        PageFault = hub.Register<PageFaultUser>("page_fault_user");
        PageAlloc = hub.Register<MmPageAlloc>("mm_page_alloc");
        KswapdWake = hub.Register<MmVmscanKswapd>("mm_vmscan_kswapd_wake");
        KswapdSleep = hub.Register<MmVmscanKswapd>("mm_vmscan_kswapd_sleep");
        ShrinkInactive = hub.Register<MmVmscanShrinkInactive>("mm_vmscan_lru_shrink_inactive");
        Writepage = hub.Register<MmVmscanWritepage>("mm_vmscan_writepage");
    }

    public Tracepoint<MmVmscanKswapd> KswapdWake { get; }

    public Tracepoint<MmVmscanKswapd> KswapdSleep { get; }

    public Tracepoint<MmVmscanShrinkInactive> ShrinkInactive { get; }

    public Tracepoint<MmVmscanWritepage> Writepage { get; }

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

/// <summary>vmscan:mm_vmscan_kswapd_wake / mm_vmscan_kswapd_sleep (the zone and order that woke it; on sleep, the pages it freed).</summary>
public readonly record struct MmVmscanKswapd(long TimeNs, int Cpu, string Zone, int Order, bool Sleep, long Freed) : ITraceEvent
{
    public string Name => Sleep ? "mm_vmscan_kswapd_sleep" : "mm_vmscan_kswapd_wake";

    public string FormatArgs() => Sleep ? $"nid=0 freed={Freed}" : $"nid=0 zone={Zone} order={Order}";
}

/// <summary>vmscan:mm_vmscan_lru_shrink_inactive — one batch of shrink_inactive_list.</summary>
public readonly record struct MmVmscanShrinkInactive(long TimeNs, int Cpu, string Zone, long NrScanned, long NrReclaimed, int Priority, bool Kswapd) : ITraceEvent
{
    public string Name => "mm_vmscan_lru_shrink_inactive";

    public string FormatArgs() => $"nid=0 zone={Zone} nr_scanned={NrScanned} nr_reclaimed={NrReclaimed} priority={Priority} {(Kswapd ? "kswapd" : "direct")}";
}

/// <summary>vmscan:mm_vmscan_writepage — pageout wrote a dirty page for reclaim.</summary>
public readonly record struct MmVmscanWritepage(long TimeNs, int Cpu, int Pfn, int Result) : ITraceEvent
{
    public string Name => "mm_vmscan_writepage";

    public string FormatArgs() => $"pfn={Pfn} result={Result}";
}
