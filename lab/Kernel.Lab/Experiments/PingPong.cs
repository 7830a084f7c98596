// The ping-pong table of Robert Love's seed (Tables 1 and 2): which CPU runs each task, sampled
// over time. One CPU hog more than there are CPUs keeps one runqueue with two tasks: the 2.4
// goodness scheduler hands whichever task waits longest to whichever CPU schedules next, so the
// tasks wander; the O(1) scheduler's per-CPU runqueues keep each task where it is, because an
// imbalance of one task is not worth a migration.
using Kernel.Core.Tasks;
using Kernel.Sched;

namespace Kernel.Lab.Experiments;

public sealed record PingPongOptions
{
    public int Cpus { get; init; } = 4;

    /// <summary>CPU hogs to run (default: one more than there are CPUs).</summary>
    public int? Tasks { get; init; }

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.O1;

    /// <summary>Time between samples (100 ms: about one 2.4 timeslice).</summary>
    public long SampleNs { get; init; } = 100_000_000;

    public int Samples { get; init; } = 10;

    /// <summary>Simulated time the hogs run before the first sample, so start-up placement is over.</summary>
    public long WarmupNs { get; init; } = 500_000_000;
}

/// <summary>
/// Rows are tasks, columns samples; a cell is the CPU running the task at that instant, or -1 when
/// it was waiting on a runqueue. Migrations counts every CPU change over the sampled time.
/// </summary>
public sealed record PingPongResult(IReadOnlyList<string> Tasks, int[,] Cpu, long[] Migrations, long SampledNs)
{
    /// <summary>CPU changes per task per simulated second, averaged over the tasks.</summary>
    public double MigrationsPerTaskSecond => Migrations.Length == 0 ? 0 : Migrations.Average() / (SampledNs / 1e9);
}

public static class PingPong
{
    public static PingPongResult Run(PingPongOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Cpus, nameof(o.Cpus));
        int n = o.Tasks ?? o.Cpus + 1;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n, nameof(o.Tasks));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.SampleNs, nameof(o.SampleNs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Samples, nameof(o.Samples));
        ArgumentOutOfRangeException.ThrowIfNegative(o.WarmupNs, nameof(o.WarmupNs));
        using var k = LinuxKernel.Boot(new KernelOptions { Cpus = o.Cpus, Hz = 1000, Scheduler = o.Scheduler, RethrowProgramExceptions = true });
        var hogs = new TaskStruct[n];
        for (int i = 0; i < n; i++)
        {
            hogs[i] = k.Spawn(((char)('A' + i % 26)).ToString(), static async self =>
            {
                while (true)
                {
                    await self.Compute(10_000_000);
                }
            });
        }
        k.Run(o.WarmupNs);
        long[] before = hogs.Select(t => t.Migrations).ToArray();
        var cells = new int[n, o.Samples];
        for (int s = 0; s < o.Samples; s++)
        {
            k.Run(o.SampleNs);
            for (int i = 0; i < n; i++)
            {
                cells[i, s] = k.Machine.Cpus.FirstOrDefault(c => c.Curr == hogs[i])?.Id ?? -1;
            }
        }
        long[] moved = hogs.Select((t, i) => t.Migrations - before[i]).ToArray();
        k.AssertInvariants();
        return new PingPongResult(hogs.Select(t => t.Comm).ToArray(), cells, moved, (long)o.SampleNs * o.Samples);
    }
}
