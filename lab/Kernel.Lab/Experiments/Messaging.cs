// What the message-passing experiments (hackbench, the chat server) share: the options that pick
// the machine and scheduler, the result they report, and the run loop that boots a kernel, runs
// the workload to its end or to a simulated-time limit, and reads back what the tasks recorded.
using System.Diagnostics;
using Kernel.Core;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Nptl;
using Kernel.Sched;
using Kernel.Syscalls;

namespace Kernel.Lab.Experiments;

/// <summary>Processes (fork, as hackbench's default) or threads of one process (hackbench -threads, the chat server's shape).</summary>
public enum MessagingMode { Process, Thread }

/// <summary>What every message-passing run takes: the machine, the scheduler, the message size, processes or threads, a time limit.</summary>
public abstract record MessagingOptions
{
    public int MessageSize { get; init; } = 100;

    public MessagingMode Mode { get; init; } = MessagingMode.Process;

    public int Cpus { get; init; } = 1;

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.O1;

    /// <summary>
    /// The machine's memory: max_threads is mempages / 16 (fork_init), so 1 GiB allows 16,384
    /// tasks, enough for 200 hackbench groups; at 256 MiB fork fails with EAGAIN past 4,096.
    /// </summary>
    public int MemoryMiB { get; init; } = 1024;

    /// <summary>Stop after this much simulated time from boot (null: run until every message is delivered).</summary>
    public long? LimitNs { get; init; }

    /// <summary>
    /// hackbench's start barrier: every worker reports ready on one pipe and waits on another, and
    /// the main task lets them all go at once when the last is made, so the measured time holds
    /// the message passing only, not the forks. Without it each group starts as soon as it exists
    /// and the run measures set-up and messaging together.
    /// </summary>
    public bool StartBarrier { get; init; } = true;
}

/// <summary>
/// What one run delivered, how long it took in simulated time (SimulatedNs: from the start
/// barrier's go to the end, as hackbench times it; from boot when there is no barrier) and host
/// time, how the worker tasks moved between CPUs and were switched, the share of CPU time spent
/// idle over SimulatedNs, and how long the main task took to make every worker and pipe (SetupNs;
/// with no barrier it is part of SimulatedNs; 0 when a time limit ended the run before set-up
/// was over).
/// </summary>
public sealed record MessagingResult(
    long Messages,
    long Expected,
    long SimulatedNs,
    double HostMs,
    int Tasks,
    long Migrations,
    long MaxMigrations,
    long ContextSwitches,
    double IdleFraction,
    long SetupNs)
{
    /// <summary>Messages delivered per simulated second, the seeds' figure of merit.</summary>
    public double MessagesPerSimSecond => SimulatedNs == 0 ? 0 : Messages / (SimulatedNs / 1e9);

    /// <summary>Mean CPU changes per worker task (the ping-pong measure).</summary>
    public double MigrationsPerTask => Tasks == 0 ? 0 : (double)Migrations / Tasks;

    /// <summary>Whether every message owed was delivered (false when a time limit stopped the run first).</summary>
    public bool Complete => Messages == Expected;
}

/// <summary>Counters the workers add to as they finish; one instance per kernel, so runs share nothing.</summary>
internal sealed class MessagingTally
{
    public long Messages;
    public int Tasks;
    public long Migrations;
    public long MaxMigrations;
    public long ContextSwitches;
    public long SetupEnd;

    /// <summary>Called by a worker at its end: what the scheduler did to it.</summary>
    public void Retire(UserTask self)
    {
        TaskStruct t = self.TaskStruct;
        Tasks++;
        Migrations += t.Migrations;
        MaxMigrations = Math.Max(MaxMigrations, t.Migrations);
        ContextSwitches += t.Nvcsw + t.Nivcsw;
    }
}

/// <summary>
/// The workers of one run, as forked processes or as NPTL threads of the main task, and the wait
/// for all of them (wait4 for processes, pthread_join for threads).
/// </summary>
internal sealed class Workers
{
    private readonly UserTask _self;
    private readonly UserHeap? _heap;
    private readonly StartBarrier? _barrier;
    private readonly List<int> _processes = [];
    private readonly List<PthreadT> _threads = [];

    private Workers(UserTask self, UserHeap? heap, StartBarrier? barrier)
    {
        _self = self;
        _heap = heap;
        _barrier = barrier;
    }

    /// <summary>hackbench's ready and wake pipes (its wake end is polled; here each worker reads one byte of it), and a page for their bytes.</summary>
    private sealed record StartBarrier(int ReadyRead, int ReadyWrite, int GoRead, int GoWrite, long Buf);

    public static async ValueTask<Workers> Create(UserTask self, MessagingMode mode, int count, bool startBarrier)
    {
        UserHeap? heap = null;
        if (mode == MessagingMode.Thread)
        {
            heap = await UserHeap.Create(self, pages: count * sizeof(long) / MemoryLayout.PAGE_SIZE + 1); // a tid word takes 8 bytes (aligned)
        }
        StartBarrier? barrier = null;
        if (startBarrier)
        {
            long buf = Check(await self.Mmap(0, MemoryLayout.PAGE_SIZE, Prot.PROT_READ | Prot.PROT_WRITE,
                MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS), "mmap");
            var w = new Workers(self, null, null);
            var (readyRead, readyWrite) = await w.Pipe(buf);
            var (goRead, goWrite) = await w.Pipe(buf);
            barrier = new StartBarrier(readyRead, readyWrite, goRead, goWrite, buf);
        }
        return new Workers(self, heap, barrier);
    }

    public async ValueTask Start(UserProgram worker)
    {
        if (_barrier is { } b)
        {
            var body = worker;
            worker = async c =>
            {
                Check(await c.Write(b.ReadyWrite, b.Buf, 1), "ready write");
                if (Check(await c.Read(b.GoRead, b.Buf, 1), "wait for go") != 1)
                {
                    throw new InvalidOperationException("the go pipe closed before the go");
                }
                await body(c);
            };
        }
        if (_heap is not null)
        {
            _threads.Add(await Pthread.Create(_self, _heap, worker));
        }
        else
        {
            _processes.Add((int)Check(await _self.Fork(worker), "fork"));
        }
    }

    /// <summary>Close fds the workers now hold (processes only: threads share the one table).</summary>
    public async ValueTask CloseInParent(IEnumerable<int> fds)
    {
        if (_heap is null)
        {
            foreach (int fd in fds)
            {
                Check(await _self.Close(fd), "close");
            }
        }
    }

    /// <summary>
    /// Wait for every worker. With the barrier, first wait until each has said it is ready, then
    /// let all go; set-up (making tasks and pipes) ends at the go, or here when there is no barrier.
    /// </summary>
    public async ValueTask WaitAll(MessagingTally tally)
    {
        int count = _processes.Count + _threads.Count;
        if (_barrier is { } b)
        {
            await Transfer(b.ReadyRead, b.Buf, count, write: false);
            tally.SetupEnd = _self.Now;
            await Transfer(b.GoWrite, b.Buf, count, write: true);
        }
        else
        {
            tally.SetupEnd = _self.Now;
        }
        foreach (int pid in _processes)
        {
            var w = await _self.Wait4(pid);
            if (w.Pid != pid || !w.WIFEXITED || w.WEXITSTATUS != 0)
            {
                throw new InvalidOperationException($"worker {pid} ended with wait status {w.Status:x} (wait4 gave {w.Pid})");
            }
        }
        foreach (var t in _threads)
        {
            await Pthread.Join(_self, t);
        }
        if (_barrier is { } done)
        {
            // Only now: threads share the fd table, so a thread still on its way to the go read needs them open.
            foreach (int fd in new[] { done.ReadyRead, done.ReadyWrite, done.GoRead, done.GoWrite })
            {
                Check(await _self.Close(fd), "close");
            }
        }
    }

    /// <summary>Read or write `count` bytes through `fd`, a page at a time.</summary>
    private async ValueTask Transfer(int fd, long buf, int count, bool write)
    {
        for (int done = 0; done < count;)
        {
            int n = Math.Min(count - done, MemoryLayout.PAGE_SIZE);
            long r = Check(write ? await _self.Write(fd, buf, n) : await _self.Read(fd, buf, n), write ? "go write" : "ready read");
            if (r == 0)
            {
                throw new InvalidOperationException($"the {(write ? "go" : "ready")} pipe gave 0 bytes after {done} of {count}");
            }
            done += (int)r;
        }
    }

    /// <summary>pipe(): (read end, write end), using `fds` (8 bytes of user memory) for the fd pair.</summary>
    public async ValueTask<(int Read, int Write)> Pipe(long fds)
    {
        Check(await _self.Pipe(fds), "pipe");
        return (await _self.Load<int>(fds), await _self.Load<int>(fds + 4));
    }

    public static long Check(long r, string call) =>
        r >= 0 ? r : throw new InvalidOperationException($"{call} failed: {(Errno)(-r)}");
}

internal static class Messaging
{
    /// <summary>
    /// Threads share one fd table, so thread mode needs every pipe end open in one process at once;
    /// past RLIMIT_NOFILE pipe() gives EMFILE, as real hackbench -threads does at about 25 groups.
    /// </summary>
    public static void CheckFdBudget(MessagingMode mode, int fds)
    {
        const int budget = LinuxKernel.RlimitNofile - 8; // a margin for the heap and the process's other files
        if (mode == MessagingMode.Thread && fds > budget)
        {
            throw new ArgumentOutOfRangeException(nameof(fds), fds,
                $"thread mode keeps {fds} pipe ends open in one process, over RLIMIT_NOFILE ({LinuxKernel.RlimitNofile}); use fewer groups or processes");
        }
    }

    /// <summary>Boot, spawn `main`, run to idle (or for LimitNs of simulated time), and report.</summary>
    public static MessagingResult Run(MessagingOptions o, int fds, long expected, Func<MessagingTally, UserProgram> main)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.MessageSize, nameof(o.MessageSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(o.MessageSize, 4096, nameof(o.MessageSize)); // one message must stay atomic (PIPE_BUF)
        ArgumentOutOfRangeException.ThrowIfLessThan(o.MemoryMiB, 16, nameof(o.MemoryMiB));
        CheckFdBudget(o.Mode, fds);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Cpus, nameof(o.Cpus));
        if (o.LimitNs is long limit)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit, nameof(o.LimitNs)); // a time limit must be positive
        }
        var tally = new MessagingTally();
        using var k = LinuxKernel.Boot(new KernelOptions
        {
            Cpus = o.Cpus,
            Hz = 1000,
            Scheduler = o.Scheduler,
            RethrowProgramExceptions = true,
            Memory = new MemoryOptions { MemoryBytes = o.MemoryMiB * MemoryLayout.MiB },
        });
        var root = k.Spawn("messaging", main(tally));
        var sw = Stopwatch.StartNew();
        long boot = k.Machine.Now;
        long limitAt = o.LimitNs is long ns ? boot + ns : boot + Hour;
        long t0 = boot;
        long busy0 = BusyNs(k);
        if (o.StartBarrier)
        {
            // Measure from the go: run to it (the set-up), then take the clock and the CPUs' busy time.
            k.RunUntil(() => tally.SetupEnd != 0 || root.ExitState != 0, limitAt - k.Machine.Now);
            t0 = tally.SetupEnd != 0 ? tally.SetupEnd : limitAt;
            busy0 = BusyNs(k);
        }
        if (o.LimitNs is not null)
        {
            k.Run(Math.Max(0, limitAt - k.Machine.Now));
        }
        else if (!k.RunUntilIdle(limitAt - k.Machine.Now))
        {
            throw new InvalidOperationException("the workload did not finish within the simulated hour");
        }
        sw.Stop();
        t0 = Math.Min(t0, k.Machine.Now);
        if (o.LimitNs is null)
        {
            if (root.ExitCode != 0)
            {
                throw new InvalidOperationException($"the workload's main task exited with {root.ExitCode}");
            }
            k.AssertInvariants(); // every pipe, futex queue and runqueue consistent at the end
        }
        double capacity = (double)(k.Machine.Now - t0) * o.Cpus;
        return new MessagingResult(tally.Messages, expected, k.Machine.Now - t0, sw.Elapsed.TotalMilliseconds,
            tally.Tasks, tally.Migrations, tally.MaxMigrations, tally.ContextSwitches,
            capacity == 0 ? 0 : 1 - (BusyNs(k) - busy0) / capacity, Math.Max(0, tally.SetupEnd - boot));
    }

    private const long Hour = 3_600_000_000_000;

    private static long BusyNs(LinuxKernel k) => k.Machine.Cpus.Sum(c => c.BusyNs);
}
