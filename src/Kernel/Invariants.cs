// The whole-kernel invariant checker: runqueue consistency (from the scheduler), every runnable
// task on exactly one runqueue or running, every running task allowed on its CPU, family links
// and the pid map agreeing with the task list. Tests run it after every scenario.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel;

public sealed partial class LinuxKernel
{
    public IReadOnlyList<string> CheckInvariants()
    {
        var problems = new List<string>(Scheduler.CheckInvariants());
        problems.AddRange(Memory.CheckInvariants());
        problems.AddRange(Futexes.CheckInvariants());
        problems.AddRange(Pipes.CheckInvariants());
        if (Kernel.Block.BlockLayer.Existing(Memory) is { } block)
        {
            problems.AddRange(block.CheckInvariants());
        }
        var running = new Dictionary<TaskStruct, int>();
        foreach (var cpu in Machine.Cpus)
        {
            if (cpu.Curr.IsIdleTask)
            {
                continue;
            }
            if (running.TryGetValue(cpu.Curr, out int other))
            {
                problems.Add($"{cpu.Curr} is current on cpu{other} and cpu{cpu.Id}");
            }
            running[cpu.Curr] = cpu.Id;
            if (cpu.Curr.ExitState != 0 && cpu.Curr.Exec is not (ExecState.Finished or ExecState.Dying))
            {
                problems.Add($"cpu{cpu.Id}: current {cpu.Curr} has exited but is not dying or finished");
            }
        }
        int live = 0;
        foreach (var t in Machine.Tasks)
        {
            if (t.ExitState == TaskState.EXIT_DEAD)
            {
                problems.Add($"{t} is EXIT_DEAD but still in the pid hash");
            }
            if (!Pids.IsUsed(t.Pid))
            {
                problems.Add($"{t} has a pid the pid map does not hold");
            }
            if (t.ExitState == 0)
            {
                live++;
                bool queued = t.Array is not null;
                bool onCpu = running.ContainsKey(t);
                if (t.State == TaskState.TASK_RUNNING && !queued && !onCpu)
                {
                    problems.Add($"{t} is TASK_RUNNING but on no runqueue and no CPU");
                }
                if (t.State != TaskState.TASK_RUNNING && queued && !onCpu)
                {
                    problems.Add($"{t} sleeps ({t.State}) but is still queued");
                }
                if (t.State != TaskState.TASK_RUNNING && !onCpu && (t.SpinlocksHeld != 0 || (t.PreemptCount & ~PreemptCount.PREEMPT_ACTIVE) != 0))
                {
                    problems.Add($"{t} sleeps holding {t.SpinlocksHeld} spinlock(s), preempt_count 0x{t.PreemptCount:x}");
                }
            }
            if (t.Parent is { } parent && t != Init && !parent.Children.Contains(t))
            {
                problems.Add($"{t}'s parent {parent} does not list it as a child");
            }
            foreach (var c in t.Children)
            {
                if (c.Parent != t)
                {
                    problems.Add($"{t} lists {c} as a child but its parent is {c.Parent}");
                }
            }
        }
        if (Pids.Allocated != Machine.Tasks.Count)
        {
            problems.Add($"pid map holds {Pids.Allocated} pids but {Machine.Tasks.Count} tasks exist");
        }
        return problems;
    }

    /// <summary>Throw a KernelBug listing every violated invariant, if any.</summary>
    public void AssertInvariants()
    {
        var p = CheckInvariants();
        if (p.Count > 0)
        {
            throw new KernelBug("invariant violated: " + string.Join("; ", p), Machine.DumpState(null));
        }
    }
}
