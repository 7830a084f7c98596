// The memory code's tracepoints, registered with the kernel's hub at boot: page_fault_user
// (every fault a task takes, with its outcome), mm_page_alloc (page allocations and frees), and
// reclaim's, named as later kernels name them: mm_vmscan_kswapd_wake and _sleep,
// mm_vmscan_lru_shrink_inactive (one batch of shrink_inactive_list) and mm_vmscan_writepage; the
// OOM killer's oom:mark_victim; and three of our own (2.6.20 and later kernels have no event for
// them): mm_vmscan_page_evict (reclaim freed a page of a file or of swap), mm_swap_out and
// mm_swap_in (a page's write to or read from a swap area started).
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
        Evict = hub.Register<MmVmscanPageEvict>("mm_vmscan_page_evict");
        SwapOut = hub.Register<MmSwapIo>("mm_swap_out");
        SwapIn = hub.Register<MmSwapIo>("mm_swap_in");
        MarkVictim = hub.Register<OomMarkVictim>("mark_victim");
    }

    public Tracepoint<MmVmscanPageEvict> Evict { get; }

    public Tracepoint<MmSwapIo> SwapOut { get; }

    public Tracepoint<MmSwapIo> SwapIn { get; }

    public Tracepoint<OomMarkVictim> MarkVictim { get; }

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

/// <summary>mm_vmscan_page_evict (ours): reclaim freed the page at `Index` of a file (or, Anon, of swapper_space: `Index` is the swap entry).</summary>
public readonly record struct MmVmscanPageEvict(long TimeNs, int Cpu, string Zone, int Mapping, long Index, bool Anon) : ITraceEvent
{
    public string Name => "mm_vmscan_page_evict";

    public string FormatArgs() => $"zone={Zone} mapping={Mapping} index={Index} {(Anon ? "anon" : "file")}";
}

/// <summary>mm_swap_out / mm_swap_in (ours): a page's write to, or read from, swap slot `Offset` of area `Type` started.</summary>
public readonly record struct MmSwapIo(long TimeNs, int Cpu, int Pfn, int Type, long Offset, bool In) : ITraceEvent
{
    public string Name => In ? "mm_swap_in" : "mm_swap_out";

    public string FormatArgs() => $"pfn={Pfn} type={Type} offset={Offset}";
}

/// <summary>oom:mark_victim — the OOM killer chose this task (SIGKILL, TIF_MEMDIE).</summary>
public readonly record struct OomMarkVictim(long TimeNs, int Cpu, int Pid, string Comm) : ITraceEvent
{
    public string Name => "mark_victim";

    public string FormatArgs() => $"pid={Pid} comm={Comm}";
}
