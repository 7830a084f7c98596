// cpumask_t for up to 64 CPUs: one 64-bit word, bit n = CPU n.
using System.Numerics;

namespace Kernel.Core.Tasks;

public readonly record struct CpuMask(ulong Bits)
{
    public const int NR_CPUS = 64;

    public static CpuMask None => new(0);

    public static CpuMask All => new(ulong.MaxValue);

    public static CpuMask Of(params int[] cpus)
    {
        ulong b = 0;
        foreach (var c in cpus)
        {
            if ((uint)c >= NR_CPUS)
            {
                throw new ArgumentOutOfRangeException(nameof(cpus), c, "CPU number must be 0..63.");
            }
            b |= 1UL << c;
        }
        return new CpuMask(b);
    }

    public static CpuMask FirstN(int n) => new(n >= 64 ? ulong.MaxValue : (1UL << n) - 1);

    public bool IsSet(int cpu) => (uint)cpu < NR_CPUS && (Bits & (1UL << cpu)) != 0;

    public bool IsEmpty => Bits == 0;

    public int Weight => BitOperations.PopCount(Bits);

    public int First => Bits == 0 ? NR_CPUS : BitOperations.TrailingZeroCount(Bits);

    public CpuMask And(CpuMask o) => new(Bits & o.Bits);

    public CpuMask Or(CpuMask o) => new(Bits | o.Bits);

    public CpuMask With(int cpu) => new(Bits | (1UL << cpu));

    public CpuMask Without(int cpu) => new(Bits & ~(1UL << cpu));

    public bool Intersects(CpuMask o) => (Bits & o.Bits) != 0;

    public IEnumerable<int> Cpus()
    {
        ulong b = Bits;
        while (b != 0)
        {
            int c = BitOperations.TrailingZeroCount(b);
            yield return c;
            b &= b - 1;
        }
    }

    /// <summary>cpumask_scnprintf: hex words, as /proc/schedstat and /proc/PID/status show them.</summary>
    public override string ToString() => Bits.ToString("x");
}
