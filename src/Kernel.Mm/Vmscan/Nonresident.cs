// The nonresident page table of Rik van Riel's CLOCK-Pro patches for 2.6.12 (mm/nonresident.c,
// as the LWN seed of August 2005 describes it): remember_page(mapping, index) hashes an evicted
// page to a bucket of NUM_NR 32-bit cookies (one cache line, with the bucket's hand) and stores
// its cookie at the hand, overwriting the oldest; recently_evicted(mapping, index) finds the
// cookie again when the page comes back (a refault), clears it, and estimates its distance, the
// pages evicted since, from how far behind the hand it was, scaled by the number of buckets. The
// table remembers about as many pages as memory holds, at one word a page. /proc/refaults prints
// the distances of the refaults seen in the seed's histogram.
using System.Globalization;
using System.Text;

namespace Kernel.Mm.Vmscan;

public sealed class NonresidentTable
{
    /// <summary>Rows of /proc/refaults before "New/Beyond".</summary>
    public const int HistogramRows = 15;

    private readonly uint[] _cookies;
    private readonly int[] _hands;
    private readonly long[] _histogram = new long[HistogramRows + 1];

    public NonresidentTable(long memoryPages, int l1CacheBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(memoryPages);
        NumNr = Math.Max(1, (l1CacheBytes - sizeof(int)) / sizeof(uint));
        long buckets = 1;
        while (buckets * NumNr < memoryPages)
        {
            buckets <<= 1;
        }
        Buckets = (int)buckets;
        _cookies = new uint[Buckets * NumNr];
        _hands = new int[Buckets];
    }

    /// <summary>NUM_NR: cookies a bucket holds (a cache line less the hand).</summary>
    public int NumNr { get; }

    public int Buckets { get; }

    /// <summary>Pages the table can remember.</summary>
    public long Capacity => (long)Buckets * NumNr;

    /// <summary>The table's size in the modelled kernel (one cache line a bucket).</summary>
    public long SizeBytes => (long)Buckets * (NumNr + 1) * sizeof(uint);

    public long Remembered { get; private set; }

    public long Refaults { get; private set; }

    /// <summary>Refaults of pages the table did not remember (new, or evicted too long ago).</summary>
    public long NewOrBeyond => _histogram[HistogramRows];

    private static ulong Mix(int mapping, long index)
    {
        ulong h = ((ulong)(uint)mapping * 0x9E3779B97F4A7C15UL) ^ ((ulong)index * 0xC2B2AE3D27D4EB4FUL);
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        return h ^ (h >> 32);
    }

    private (int Bucket, uint Cookie) Locate(int mapping, long index)
    {
        ulong h = Mix(mapping, index);
        uint cookie = (uint)(h >> 32);
        return ((int)(h & (uint)(Buckets - 1)), cookie == 0 ? 1 : cookie);
    }

    /// <summary>remember_page: the page (mapping handle, index) was evicted.</summary>
    public void RememberPage(int mapping, long index)
    {
        var (b, cookie) = Locate(mapping, index);
        int hand = _hands[b];
        _cookies[b * NumNr + hand] = cookie;
        _hands[b] = (hand + 1) % NumNr;
        Remembered++;
    }

    /// <summary>recently_evicted: the page's estimated distance (pages evicted since it was), or -1 when it is not remembered. Counts the refault in the histogram.</summary>
    public long RecentlyEvicted(int mapping, long index)
    {
        var (b, cookie) = Locate(mapping, index);
        int hand = _hands[b];
        long distance = -1;
        for (int i = 0; i < NumNr; i++)
        {
            if (_cookies[b * NumNr + i] == cookie)
            {
                _cookies[b * NumNr + i] = 0;
                int age = (hand - 1 - i + NumNr) % NumNr; // 0: the bucket's newest entry
                distance = (long)age * Buckets;
                break;
            }
        }
        Refaults++;
        long width = (Capacity + HistogramRows - 1) / HistogramRows;
        _histogram[distance < 0 ? HistogramRows : (int)Math.Min(HistogramRows, distance / width)]++;
        return distance;
    }

    /// <summary>/proc/refaults, in the format of the CLOCK-Pro patch the LWN seed shows.</summary>
    public string FormatRefaults()
    {
        long width = (Capacity + HistogramRows - 1) / HistogramRows;
        var sb = new StringBuilder("     Refault distance          Hits\n");
        for (int i = 0; i < HistogramRows; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{i * width,9} - {(i + 1) * width,9}{_histogram[i],14}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"{"New/Beyond",11}{HistogramRows * width,10}{_histogram[HistogramRows],14}\n");
        return sb.ToString();
    }
}
