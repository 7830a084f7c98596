// The block layer's tracepoints, one per blktrace action of 2.6.20 (include/linux/blktrace_api.h
// BLK_TA_*): a bio queued, merged at the back or front, a request got or slept for, plugged and
// unplugged, inserted into the elevator, issued to the driver, requeued, completed, a bio split or
// bounced. Every one carries the same BlockTraceEvent, so a sink can print blkparse's text
// (BlkParse) from any of them.
using System.Runtime.CompilerServices;
using Kernel.Core.Trace;

namespace Kernel.Block;

/// <summary>The blktrace actions (BLK_TA_*) and their blkparse letters.</summary>
public enum BlockAction
{
    Queue,
    BackMerge,
    FrontMerge,
    GetRq,
    SleepRq,
    Requeue,
    Issue,
    Complete,
    Plug,
    UnplugIo,
    UnplugTimer,
    Insert,
    Split,
    Bounce,
}

public sealed class BlockTracepoints
{
    private static readonly ConditionalWeakTable<Tracepoints, BlockTracepoints> PerHub = new();

    private readonly Tracepoint<BlockTraceEvent>[] _points;

    private BlockTracepoints(Tracepoints hub)
    {
        _points = Enum.GetValues<BlockAction>().Select(a => hub.Register<BlockTraceEvent>(BlockTraceEvent.NameOf(a))).ToArray();
    }

    /// <summary>The block tracepoints of a kernel's hub, registered the first time a queue asks.</summary>
    public static BlockTracepoints Of(Tracepoints hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        lock (PerHub)
        {
            return PerHub.GetValue(hub, h => new BlockTracepoints(h));
        }
    }

    public Tracepoint<BlockTraceEvent> this[BlockAction action] => _points[(int)action];
}

/// <summary>
/// One block trace record: device, action, the rwbs flags blkparse prints (R/W, S for sync, B for
/// barrier, A for read-ahead), the sector range, an error for a completion, the task, and the
/// action's extra word (a split's second sector).
/// </summary>
public readonly record struct BlockTraceEvent(long TimeNs, int Cpu, string Dev, BlockAction Action, string Rwbs, long Sector, long NrSectors,
    int Error, int Pid, string Comm, long Pdu = 0) : ITraceEvent
{
    public string Name => NameOf(Action);

    public static string NameOf(BlockAction a) => a switch
    {
        BlockAction.Queue => "block_bio_queue",
        BlockAction.BackMerge => "block_bio_backmerge",
        BlockAction.FrontMerge => "block_bio_frontmerge",
        BlockAction.GetRq => "block_getrq",
        BlockAction.SleepRq => "block_sleeprq",
        BlockAction.Requeue => "block_rq_requeue",
        BlockAction.Issue => "block_rq_issue",
        BlockAction.Complete => "block_rq_complete",
        BlockAction.Plug => "block_plug",
        BlockAction.UnplugIo => "block_unplug_io",
        BlockAction.UnplugTimer => "block_unplug_timer",
        BlockAction.Insert => "block_rq_insert",
        BlockAction.Split => "block_split",
        BlockAction.Bounce => "block_bio_bounce",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>blkparse's action letter.</summary>
    public static char Letter(BlockAction a) => "QMFGSRDCPUTIXB"[(int)a];

    public string FormatArgs() => Action == BlockAction.Split
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"dev={Dev} rwbs={Rwbs} sector={Sector} new_sector={Pdu} pid={Pid} comm={Comm}")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"dev={Dev} rwbs={Rwbs} sector={Sector} nr_sectors={NrSectors} error={Error} pid={Pid} comm={Comm}");
}
