// The one seeded random source of a kernel instance. xoshiro256** seeded through splitmix64:
// its sequence is fixed by this file, not by the .NET version, so a seed replays bit for bit.
namespace Kernel.Core;

public sealed class Prng
{
    private ulong _s0, _s1, _s2, _s3;

    public Prng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's method).</summary>
    public long Next(long bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong b = (ulong)bound;
        ulong hi = Math.BigMul(NextUInt64(), b, out ulong lo);
        if (lo < b)
        {
            ulong threshold = (0 - b) % b;
            while (lo < threshold)
            {
                hi = Math.BigMul(NextUInt64(), b, out lo);
            }
        }
        return (long)hi;
    }

    /// <summary>Uniform in [min, max).</summary>
    public long Next(long min, long max) => min + Next(max - min);

    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
