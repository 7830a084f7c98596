// Page-reference traces for measuring replacement policies: the published LIRS / CLOCK-Pro block
// traces (gzip text, one block number a line, `*` lines are checkpoints, CRLF tolerated; see
// ../shared/traces/README.md) and synthetic generators (Zipf, loop, scan, a hot set mixed with a
// scan), all deterministic. A trace is a list of page numbers; Dense renumbers the distinct
// pages 0..n-1 in order of first use, which keeps every replacement decision the same.
using System.Globalization;
using System.IO.Compression;
using Kernel.Core;

namespace Kernel.Workloads;

public sealed class PageTrace
{
    public PageTrace(string name, IReadOnlyList<long> references)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(references);
        Name = name;
        References = references;
    }

    public string Name { get; }

    /// <summary>The page numbers referenced, in order.</summary>
    public IReadOnlyList<long> References { get; }

    /// <summary>Distinct pages referenced.</summary>
    public int DistinctPages => References.Distinct().Count();

    /// <summary>The trace with its pages renumbered 0..n-1 in order of first reference.</summary>
    public PageTrace Dense()
    {
        var ids = new Dictionary<long, long>();
        var refs = new long[References.Count];
        for (int i = 0; i < refs.Length; i++)
        {
            long p = References[i];
            if (!ids.TryGetValue(p, out long id))
            {
                ids[p] = id = ids.Count;
            }
            refs[i] = id;
        }
        return new PageTrace(Name, refs);
    }

    /// <summary>The first `count` references (a short run of a long trace).</summary>
    public PageTrace Take(int count) => new(Name, References.Take(count).ToArray());

    /// <summary>Read a trace file in the LIRS format (gzip if it ends in .gz).</summary>
    public static PageTrace Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        using Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(s);
        var refs = new List<long>();
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            var t = line.Trim();
            if (t.Length == 0 || t.Contains('*', StringComparison.Ordinal))
            {
                continue;
            }
            if (!long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long block) || block < 0)
            {
                throw new FormatException($"{path}:{lineNo}: not a block number: {t}");
            }
            refs.Add(block);
        }
        string name = Path.GetFileName(path);
        int dot = name.IndexOf(".trace", StringComparison.Ordinal);
        return new PageTrace(dot > 0 ? name[..dot] : name, refs);
    }

    /// <summary>Zipf(alpha) over `pages` pages: page k (0-based) is drawn with probability ∝ 1 / (k + 1)^alpha.</summary>
    public static PageTrace Zipf(int pages, int count, double alpha = 1.0, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pages);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var cdf = new double[pages];
        double sum = 0;
        for (int k = 0; k < pages; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, alpha);
            cdf[k] = sum;
        }
        var rng = new Prng(seed);
        var refs = new long[count];
        for (int i = 0; i < count; i++)
        {
            int k = Array.BinarySearch(cdf, rng.NextDouble() * sum);
            refs[i] = Math.Min(pages - 1, k < 0 ? ~k : k);
        }
        return new PageTrace($"zipf{alpha.ToString(CultureInfo.InvariantCulture)}", refs);
    }

    /// <summary>0..pages-1, `laps` times (LRU's worst case when pages exceed memory).</summary>
    public static PageTrace Loop(int pages, int laps)
    {
        var refs = new long[(long)pages * laps];
        for (long i = 0; i < refs.Length; i++)
        {
            refs[i] = i % pages;
        }
        return new PageTrace("loop", refs);
    }

    /// <summary>A hot set of `hot` pages referenced `hotPerScan` times between each page of a one-time scan over `scan` other pages.</summary>
    public static PageTrace HotAndScan(int hot, int scan, int hotPerScan = 2, ulong seed = 1)
    {
        var rng = new Prng(seed);
        var refs = new List<long>(scan * (hotPerScan + 1));
        for (int s = 0; s < scan; s++)
        {
            for (int h = 0; h < hotPerScan; h++)
            {
                refs.Add(rng.Next(hot));
            }
            refs.Add(hot + s);
        }
        return new PageTrace("hot+scan", refs);
    }
}
