// Export a recorded run as Chrome trace-event JSON, which Perfetto (ui.perfetto.dev) and
// chrome://tracing open: one track per CPU showing which task ran when, instant events for
// wake-ups, migrations, forks and exits.
using System.Text.Json;

namespace Kernel.Core.Trace;

public static class PerfettoExport
{
    public static void Write(IReadOnlyList<ITraceEvent> events, int cpus, long endNs, Stream output)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(output);
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        w.WriteStartObject();
        w.WriteString("displayTimeUnit", "ns");
        w.WriteStartArray("traceEvents");
        for (int c = 0; c < cpus; c++)
        {
            w.WriteStartObject();
            w.WriteString("ph", "M");
            w.WriteString("name", "thread_name");
            w.WriteNumber("pid", 0);
            w.WriteNumber("tid", c);
            w.WriteStartObject("args");
            w.WriteString("name", $"CPU {c}");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        var running = new (string Name, int Pid, long Since)?[cpus];
        foreach (var e in events)
        {
            switch (e)
            {
                case SchedSwitch s:
                    Close(w, running, s.Cpu, s.TimeNs);
                    if (s.NextPid != 0)
                    {
                        running[s.Cpu] = (s.NextComm, s.NextPid, s.TimeNs);
                    }
                    break;
                default:
                    w.WriteStartObject();
                    w.WriteString("ph", "i");
                    w.WriteString("s", "t");
                    w.WriteString("name", e.Name);
                    w.WriteNumber("pid", 0);
                    w.WriteNumber("tid", e.Cpu);
                    w.WriteNumber("ts", e.TimeNs / 1000.0);
                    w.WriteStartObject("args");
                    w.WriteString("detail", e.FormatArgs());
                    w.WriteEndObject();
                    w.WriteEndObject();
                    break;
            }
        }
        for (int c = 0; c < cpus; c++)
        {
            Close(w, running, c, endNs);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Close(Utf8JsonWriter w, (string Name, int Pid, long Since)?[] running, int cpu, long now)
    {
        if (running[cpu] is not { } r)
        {
            return;
        }
        running[cpu] = null;
        w.WriteStartObject();
        w.WriteString("ph", "X");
        w.WriteString("name", $"{r.Name}/{r.Pid}");
        w.WriteNumber("pid", 0);
        w.WriteNumber("tid", cpu);
        w.WriteNumber("ts", r.Since / 1000.0);
        w.WriteNumber("dur", (now - r.Since) / 1000.0);
        w.WriteEndObject();
    }
}
