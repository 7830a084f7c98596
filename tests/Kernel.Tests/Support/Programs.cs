// Small reusable emulated programs and trace helpers for the tests.
using Kernel.Core.Trace;
using Kernel.Syscalls;

namespace Kernel.Tests.Support;

public static class Programs
{
    /// <summary>Burn CPU forever in chunks.</summary>
    public static async ValueTask Hog(UserTask self)
    {
        while (true)
        {
            await self.Compute(Ms.Of(10));
        }
    }

    public static UserProgram ComputeFor(double ms) => async self => await self.Compute(Ms.Of(ms));

    public static UserProgram Sleeper(double sleepMs, double runMs, int loops = int.MaxValue) => async self =>
    {
        for (int i = 0; i < loops; i++)
        {
            await self.Nanosleep(Ms.Of(sleepMs));
            await self.Compute(Ms.Of(runMs));
        }
    };
}

/// <summary>Run intervals per pid rebuilt from sched_switch events.</summary>
public sealed class RunLog : ITraceSink
{
    private readonly Dictionary<int, (int Cpu, long Since)> _running = new();
    public readonly List<(int Pid, int Cpu, long Start, long End)> Intervals = new();
    public readonly List<SchedSwitch> Switches = new();
    public readonly List<SchedWakeup> Wakeups = new();

    public void Record(ITraceEvent e)
    {
        switch (e)
        {
            case SchedSwitch s:
                Switches.Add(s);
                if (_running.Remove(s.PrevPid, out var r) && s.PrevPid != 0)
                {
                    Intervals.Add((s.PrevPid, r.Cpu, r.Since, s.TimeNs));
                }
                if (s.NextPid != 0)
                {
                    _running[s.NextPid] = (s.Cpu, s.TimeNs);
                }
                break;
            case SchedWakeup w:
                Wakeups.Add(w);
                break;
        }
    }

    /// <summary>Latencies from each successful wake-up of pid to its next switch-in.</summary>
    public List<long> WakeupLatencies(int pid)
    {
        var res = new List<long>();
        foreach (var w in Wakeups.Where(w => w.Pid == pid && w.Success && !w.New))
        {
            var next = Switches.FirstOrDefault(s => s.NextPid == pid && s.TimeNs >= w.TimeNs);
            if (next.NextComm is not null)
            {
                res.Add(next.TimeNs - w.TimeNs);
            }
        }
        return res;
    }
}
