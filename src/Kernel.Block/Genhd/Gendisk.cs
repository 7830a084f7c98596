// Linux 2.6.20 include/linux/genhd.h struct gendisk and block/genhd.c: a disk's name and numbers,
// its capacity in sectors, its queue, and the statistics /proc/diskstats and /sys/block/DEV/stat
// print. disk_round_stats charges the time since the last look to io_ticks (if anything was in
// flight) and in_flight times that to time_in_queue, so utilisation never exceeds 100 %.
// Beyond Linux: a log2 histogram of request latency (queue to completion) per direction.
using System.Globalization;

namespace Kernel.Block;

/// <summary>struct disk_stats: the per-direction counters (index 0 read, 1 write); ticks in jiffies.</summary>
public sealed class DiskStats
{
    public long[] Ios { get; } = new long[2];

    public long[] Merges { get; } = new long[2];

    public long[] Sectors { get; } = new long[2];

    public uint[] Ticks { get; } = new uint[2];

    public uint IoTicks { get; internal set; }

    public uint TimeInQueue { get; internal set; }
}

public sealed class Gendisk
{
    /// <summary>Latency histogram buckets: bucket i holds latencies in [2^i, 2^(i+1)) microseconds (bucket 0 also below 1 us).</summary>
    public const int LatencyBuckets = 32;

    private readonly long[][] _latency = [new long[LatencyBuckets], new long[LatencyBuckets]];

    internal Gendisk(string name, int major, int firstMinor, long capacity, RequestQueue queue)
    {
        Name = name;
        Major = major;
        FirstMinor = firstMinor;
        Capacity = capacity;
        Queue = queue;
        queue.Disk = this;
    }

    /// <summary>disk_name ("sda").</summary>
    public string Name { get; }

    public int Major { get; }

    public int FirstMinor { get; }

    /// <summary>capacity: 512-byte sectors (get_capacity).</summary>
    public long Capacity { get; }

    public long CapacityBytes => Capacity << Bio.SECTOR_SHIFT;

    public RequestQueue Queue { get; }

    /// <summary>policy: the read-only flag (set_disk_ro, BLKROSET); writes through /dev then fail with EPERM.</summary>
    public bool ReadOnly { get; set; }

    public DiskStats Stats { get; } = new();

    /// <summary>in_flight: requests made and not yet finished.</summary>
    public int InFlight { get; internal set; }

    /// <summary>stamp: the jiffy of the last disk_round_stats.</summary>
    public uint Stamp { get; private set; }

    /// <summary>disk_round_stats.</summary>
    public void RoundStats()
    {
        uint now = Queue.Machine.Jiffies;
        if (now == Stamp)
        {
            return;
        }
        if (InFlight != 0)
        {
            uint d = unchecked(now - Stamp);
            Stats.TimeInQueue += (uint)InFlight * d;
            Stats.IoTicks += d;
        }
        Stamp = now;
    }

    internal void RecordLatency(int rw, long ns)
    {
        long us = Math.Max(ns / 1000, 1);
        int b = (int)Math.Min(63 - long.LeadingZeroCount(us), LatencyBuckets - 1);
        _latency[rw][b]++;
    }

    private readonly long[] _depth = new long[2 * RequestQueue.BLKDEV_MAX_RQ * 3 / 2 + 1];

    /// <summary>The driver took a request while `depth` requests existed (queued, in the elevator, in flight).</summary>
    internal void RecordQueueDepth(int depth) => _depth[Math.Clamp(depth, 0, _depth.Length - 1)]++;

    /// <summary>Queue depth seen at each dispatch: index d counts dispatches with d requests allocated (the last bucket holds more).</summary>
    public IReadOnlyList<long> QueueDepthHistogram => _depth;

    /// <summary>Request latency (made to finished) for direction `rw`, as a log2 histogram in microseconds.</summary>
    public IReadOnlyList<long> LatencyHistogram(int rw) => _latency[rw];

    private uint Ms(uint j) => Queue.Machine.Hz.JiffiesToMsecs(j);

    /// <summary>This disk's line of /proc/diskstats (diskstats_show).</summary>
    public string DiskstatsLine()
    {
        RoundStats();
        var s = Stats;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Major,4} {FirstMinor,4} {Name} {s.Ios[0]} {s.Merges[0]} {s.Sectors[0]} {Ms(s.Ticks[0])} {s.Ios[1]} {s.Merges[1]} {s.Sectors[1]} {Ms(s.Ticks[1])} {InFlight} {Ms(s.IoTicks)} {Ms(s.TimeInQueue)}\n");
    }

    /// <summary>/sys/block/DEV/stat (disk_stats_read).</summary>
    public string SysStat()
    {
        RoundStats();
        var s = Stats;
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Ios[0],8} {s.Merges[0],8} {s.Sectors[0],8} {Ms(s.Ticks[0]),8} {s.Ios[1],8} {s.Merges[1],8} {s.Sectors[1],8} {Ms(s.Ticks[1]),8} {InFlight,8} {Ms(s.IoTicks),8} {Ms(s.TimeInQueue),8}\n");
    }

    public override string ToString() => Name;
}
