// Linux 2.6.20 kernel/sched.c: struct rq, one per CPU. Fields are grouped under the lock that
// guards them; everything here is changed only with Lock held (charged in simulated time).
using Kernel.Core.Locking;
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed class RunQueue
{
    internal RunQueue(int cpu, KSpinLock lockObj)
    {
        Cpu = cpu;
        Lock = lockObj;
        Active = new PrioArray();
        Expired = new PrioArray();
    }

    public KSpinLock Lock { get; }

    public int Cpu { get; }

    // ---- Guarded by Lock ----
    public int NrRunning { get; internal set; }
    /// <summary>Sum of the queued tasks' load_weight (smpnice).</summary>
    public long RawWeightedLoad { get; internal set; }
    /// <summary>cpu_load[0..2]: decayed loads at scales 1, 2, 4 (update_load).</summary>
    public long[] CpuLoad { get; } = new long[3];
    public long NrSwitches { get; internal set; }
    public long NrUninterruptible { get; internal set; }
    /// <summary>jiffies when the first task expired in this array round, 0 if none.</summary>
    public uint ExpiredTimestamp { get; internal set; }
    public long MostRecentTimestamp { get; internal set; }
    public TaskStruct Idle { get; internal set; } = null!;
    public uint NextBalance { get; internal set; }
    public PrioArray Active { get; internal set; }
    public PrioArray Expired { get; internal set; }
    public int BestExpiredPrio { get; internal set; } = SchedParams.MAX_PRIO;

    // ---- SMP ----
    public SchedDomain? Sd { get; internal set; }
    public bool ActiveBalance { get; internal set; }
    public int PushCpu { get; internal set; }
    public TaskStruct? MigrationThread { get; internal set; }
    internal readonly Queue<MigrationRequest> MigrationQueue = new();

    // ---- schedstats (CONFIG_SCHEDSTATS) ----
    public long YldExpEmpty { get; internal set; }
    public long YldActEmpty { get; internal set; }
    public long YldBothEmpty { get; internal set; }
    public long YldCnt { get; internal set; }
    public long SchedSwitch { get; internal set; }
    public long SchedCnt { get; internal set; }
    public long SchedGoidle { get; internal set; }
    public long TtwuCnt { get; internal set; }
    public long TtwuLocal { get; internal set; }
    public long RqCpuTimeNs { get; internal set; }
    public long RqRunDelayNs { get; internal set; }
    public long RqPcnt { get; internal set; }
}

/// <summary>struct migration_req: a task to move, and the completion its requester waits on.</summary>
internal sealed class MigrationRequest
{
    public MigrationRequest(TaskStruct task, int destCpu)
    {
        Task = task;
        DestCpu = destCpu;
    }

    public TaskStruct Task { get; }

    public int DestCpu { get; }

    public Completion Done { get; } = new("migration_req");
}
