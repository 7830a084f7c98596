// `dotnet run --project lab/Kernel.Lab -c Release -- stress --seeds 100 --syscalls 10000`: run many
// seeds of the random-syscall stress test in parallel on every core and print a summary table (one
// row per configuration kind, then every failure with its seed, which reproduces it).
using Spectre.Console;

namespace Kernel.Lab.Stress;

public static class StressCommand
{
    public static int Run(ulong firstSeed, int seeds, int syscalls, int parallel, TextWriter output)
    {
        var results = new StressResult[seeds];
        var started = DateTime.UtcNow;
        Parallel.For(0, seeds, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallel) }, i =>
        {
            results[i] = SyscallStress.Run(firstSeed + (ulong)i, syscalls);
        });
        var elapsed = DateTime.UtcNow - started;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 120;
        var table = new Table().AddColumns("scheduler", "rmap", "arch", "runs", "syscalls", "errno returns", "forks", "failures");
        foreach (var g in results.GroupBy(r => (r.Config.Scheduler, r.Config.Rmap, r.Config.Arch)).OrderBy(g => g.Key.ToString()))
        {
            table.AddRow(g.Key.Scheduler.ToString(), g.Key.Rmap.ToString(), g.Key.Arch.ToString(), g.Count().ToString(),
                g.Sum(r => r.Syscalls).ToString("N0"), g.Sum(r => r.Errors).ToString("N0"), g.Sum(r => r.Forks).ToString("N0"),
                g.Count(r => !r.Ok).ToString());
        }
        console.Write(table);
        var failed = results.Where(r => !r.Ok).ToList();
        output.WriteLine($"{seeds} seeds x {syscalls} syscalls: {results.Sum(r => r.Syscalls):N0} syscalls, {failed.Count} failed, {elapsed.TotalSeconds:F1} s host");
        foreach (var g in results.GroupBy(r => r.RootExitStatus).OrderBy(g => g.Key))
        {
            output.WriteLine($"root exit status 0x{g.Key:x}: {g.Count()} runs, {g.Average(r => r.Syscalls):F0} syscalls on average");
        }
        foreach (var f in failed)
        {
            output.WriteLine($"seed {f.Seed} ({f.Config}): {f.Failure}");
        }
        return failed.Count == 0 ? 0 : 1;
    }
}
