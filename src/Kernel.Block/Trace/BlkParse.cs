// A blktrace recorder with blkparse's default text output (blkparse -i: "%D %2c %8s %5T.%9t %5p
// %2a %3d" then the action's fields): device as major,minor, CPU, sequence number, time in
// seconds.nanoseconds, pid, action letter, rwbs, then "sector + sectors [comm]" for a bio or a
// request (a completion shows its error in brackets instead of the command), "[comm]" for a plug
// and "[comm] N" with the request count for an unplug.
using System.Globalization;
using System.Text;

namespace Kernel.Block;

public sealed class BlkParse : IDisposable
{
    private readonly BlockLayer _block;
    private readonly List<BlockTraceEvent> _events = new();
    private readonly List<(BlockAction Action, Action<BlockTraceEvent> Handler)> _subscriptions = new();

    /// <summary>Start recording every block tracepoint of `block`'s kernel.</summary>
    public BlkParse(BlockLayer block)
    {
        ArgumentNullException.ThrowIfNull(block);
        _block = block;
        var tps = BlockTracepoints.Of(block.Machine.Trace);
        foreach (var a in Enum.GetValues<BlockAction>())
        {
            Action<BlockTraceEvent> h = _events.Add;
            tps[a].Fired += h;
            _subscriptions.Add((a, h));
        }
    }

    public IReadOnlyList<BlockTraceEvent> Events => _events;

    /// <summary>The recorded events as blkparse prints them.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        var seq = new Dictionary<string, long>(StringComparer.Ordinal);
        var ci = CultureInfo.InvariantCulture;
        foreach (var e in _events)
        {
            var disk = _block.Find(e.Dev);
            string dev = disk is null ? "0,0" : $"{disk.Major},{disk.FirstMinor}";
            long n = seq[e.Dev] = seq.GetValueOrDefault(e.Dev) + 1;
            sb.Append(ci, $"{dev,5} {e.Cpu,2} {n,8} {e.TimeNs / 1_000_000_000,5}.{e.TimeNs % 1_000_000_000:D9} {e.Pid,5}  {BlockTraceEvent.Letter(e.Action)} {e.Rwbs,3} ");
            switch (e.Action)
            {
                case BlockAction.Plug:
                    sb.Append(ci, $"[{e.Comm}]");
                    break;
                case BlockAction.UnplugIo:
                case BlockAction.UnplugTimer:
                    sb.Append(ci, $"[{e.Comm}] {e.NrSectors}");
                    break;
                case BlockAction.GetRq:
                case BlockAction.SleepRq:
                    sb.Append(ci, $"[{e.Comm}]");
                    break;
                case BlockAction.Split:
                    sb.Append(ci, $"{e.Sector} / {e.Pdu} [{e.Comm}]");
                    break;
                case BlockAction.Complete:
                    sb.Append(ci, $"{e.Sector} + {e.NrSectors} [{e.Error}]");
                    break;
                default:
                    sb.Append(ci, $"{e.Sector} + {e.NrSectors} [{e.Comm}]");
                    break;
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public void Dispose()
    {
        var tps = BlockTracepoints.Of(_block.Machine.Trace);
        foreach (var (a, h) in _subscriptions)
        {
            tps[a].Fired -= h;
        }
        _subscriptions.Clear();
    }
}
