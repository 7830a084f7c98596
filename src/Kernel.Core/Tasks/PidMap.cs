// Linux 2.6.20 kernel/pid.c alloc_pidmap: a bitmap of pid_max bits and a last_pid cursor. New
// pids count up from last_pid; past pid_max they wrap to RESERVED_PIDS (300), so low pids stay
// with long-lived early tasks and a freed pid is not reused until the cursor comes round.
// pid_max can be changed at run time (/proc/sys/kernel/pid_max) up to the map's capacity,
// PID_MAX_LIMIT; pids already above a lowered pid_max stay valid.
namespace Kernel.Core.Tasks;

public sealed class PidMap
{
    public const int RESERVED_PIDS = 300;
    private readonly ulong[] _bits;
    private int _pidMax;

    public PidMap(int pidMax, int capacity = 0)
    {
        Capacity = Math.Max(pidMax, capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(pidMax, RESERVED_PIDS + 1);
        _pidMax = pidMax;
        _bits = new ulong[(Capacity + 63) / 64];
        _bits[0] |= 1; // pid 0 belongs to the idle tasks
    }

    /// <summary>PID_MAX_LIMIT: the largest pid_max this map can take.</summary>
    public int Capacity { get; }

    /// <summary>pid_max: new pids are below it.</summary>
    public int PidMax
    {
        get => _pidMax;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, RESERVED_PIDS + 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Capacity);
            _pidMax = value;
        }
    }

    public int LastPid { get; private set; }

    public int Allocated { get; private set; }

    public bool IsUsed(int pid) => pid >= 0 && pid < Capacity && (_bits[pid >> 6] & (1UL << (pid & 63))) != 0;

    /// <summary>Next free pid after last_pid (wrapping to RESERVED_PIDS), or -1 when all are in use.</summary>
    public int Alloc()
    {
        int last = LastPid;
        int pid = last + 1;
        if (pid >= PidMax)
        {
            pid = RESERVED_PIDS;
        }
        int found = Scan(pid, PidMax);
        if (found < 0)
        {
            found = Scan(RESERVED_PIDS, Math.Min(pid, PidMax));
        }
        if (found < 0)
        {
            return -1;
        }
        _bits[found >> 6] |= 1UL << (found & 63);
        LastPid = found;
        Allocated++;
        return found;
    }

    private int Scan(int from, int to)
    {
        for (int pid = from; pid < to;)
        {
            ulong word = ~_bits[pid >> 6] >> (pid & 63);
            if (word != 0)
            {
                int cand = pid + System.Numerics.BitOperations.TrailingZeroCount(word);
                return cand < to ? cand : -1;
            }
            pid = (pid | 63) + 1;
        }
        return -1;
    }

    public void Free(int pid)
    {
        if (!IsUsed(pid) || pid == 0)
        {
            throw new KernelBug($"free_pidmap: pid {pid} is not allocated");
        }
        _bits[pid >> 6] &= ~(1UL << (pid & 63));
        Allocated--;
    }
}
