// Linux 2.6.20 include/linux/sched.h struct sched_domain and sched_group, with SD_CPU_INIT's
// values from include/linux/topology.h. A plain SMP machine gets one domain spanning every CPU
// with one group per CPU; an SMT machine gets a sibling level under it (SD_SIBLING_INIT).
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

[Flags]
public enum SdFlags
{
    SD_LOAD_BALANCE = 1,
    SD_BALANCE_NEWIDLE = 2,
    SD_BALANCE_EXEC = 4,
    SD_BALANCE_FORK = 8,
    SD_WAKE_IDLE = 16,
    SD_WAKE_AFFINE = 32,
    SD_WAKE_BALANCE = 64,
    SD_SHARE_CPUPOWER = 128,
    SD_POWERSAVINGS_BALANCE = 256,
    SD_SHARE_PKG_RESOURCES = 512,
    SD_SERIALIZE = 1024,
}

/// <summary>enum idle_type (2.6.20 order).</summary>
public enum IdleType
{
    SCHED_IDLE = 0,
    NOT_IDLE = 1,
    NEWLY_IDLE = 2,
}

public sealed class SchedGroup
{
    public SchedGroup(CpuMask cpumask, long cpuPower)
    {
        CpuMask = cpumask;
        CpuPower = cpuPower;
    }

    public CpuMask CpuMask { get; }

    /// <summary>SCHED_LOAD_SCALE per full CPU.</summary>
    public long CpuPower { get; }
}

public sealed class SchedDomain
{
    public required CpuMask Span { get; init; }
    public SchedDomain? Parent { get; internal set; }
    public SchedDomain? Child { get; internal set; }
    public required IReadOnlyList<SchedGroup> Groups { get; init; }
    public int MinInterval { get; init; } = 1;
    public int MaxInterval { get; init; } = 4;
    public int BusyFactor { get; init; } = 64;
    public int ImbalancePct { get; init; } = 125;
    public long CacheHotTimeNs { get; init; }
    public int CacheNiceTries { get; init; } = 1;
    public int BusyIdx { get; init; } = 2;
    public int IdleIdx { get; init; } = 1;
    public int NewidleIdx { get; init; } = 2;
    public int WakeIdx { get; init; } = 1;
    public int ForkexecIdx { get; init; } = 1;
    public SdFlags Flags { get; init; }
    public string Name { get; init; } = "CPU";

    // ---- Runtime state ----
    public uint LastBalance { get; internal set; }
    /// <summary>Milliseconds; doubled while balanced, reset on success.</summary>
    public int BalanceInterval { get; internal set; } = 1;
    public int NrBalanceFailed { get; internal set; }

    // ---- schedstats, indexed by IdleType ----
    public long[] LbCnt { get; } = new long[3];
    public long[] LbBalanced { get; } = new long[3];
    public long[] LbFailed { get; } = new long[3];
    public long[] LbImbalance { get; } = new long[3];
    public long[] LbGained { get; } = new long[3];
    public long[] LbHotGained { get; } = new long[3];
    public long[] LbNobusyq { get; } = new long[3];
    public long[] LbNobusyg { get; } = new long[3];
    public long AlbCnt { get; internal set; }
    public long AlbFailed { get; internal set; }
    public long AlbPushed { get; internal set; }
    public long SbeCnt { get; internal set; }
    public long SbeBalanced { get; internal set; }
    public long SbePushed { get; internal set; }
    public long SbfCnt { get; internal set; }
    public long SbfBalanced { get; internal set; }
    public long SbfPushed { get; internal set; }
    public long TtwuWakeRemote { get; internal set; }
    public long TtwuMoveAffine { get; internal set; }
    public long TtwuMoveBalance { get; internal set; }
}
