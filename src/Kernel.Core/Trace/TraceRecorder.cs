// Sinks: a recorder that keeps every event (for export and assertions), and a hasher that folds
// the ftrace text of every event into a 64-bit FNV-1a digest, so two runs can be compared bit
// for bit without keeping either trace.
using System.Globalization;
using System.Text;

namespace Kernel.Core.Trace;

public sealed class TraceRecorder : ITraceSink
{
    private readonly List<ITraceEvent> _events = new();

    public IReadOnlyList<ITraceEvent> Events => _events;

    public void Record(ITraceEvent e) => _events.Add(e);

    public IEnumerable<T> OfType<T>() where T : ITraceEvent => _events.OfType<T>();

    /// <summary>The trace as ftrace prints it: "[cpu] seconds.micros: name: args".</summary>
    public string ToFtraceText()
    {
        var sb = new StringBuilder();
        foreach (var e in _events)
        {
            sb.Append(TraceHasher.Line(e)).Append('\n');
        }
        return sb.ToString();
    }
}

public sealed class TraceHasher : ITraceSink
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public ulong Hash { get; private set; } = FnvOffset;

    public long Count { get; private set; }

    public void Record(ITraceEvent e)
    {
        ulong h = Hash;
        foreach (char c in Line(e))
        {
            h = (h ^ c) * FnvPrime;
        }
        Hash = (h ^ '\n') * FnvPrime;
        Count++;
    }

    internal static string Line(ITraceEvent e) =>
        string.Create(CultureInfo.InvariantCulture, $"[{e.Cpu:000}] {e.TimeNs / 1_000_000_000}.{e.TimeNs / 1000 % 1_000_000:000000}: {e.Name}: {e.FormatArgs()}");
}
