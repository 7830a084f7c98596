// How long a disk takes to serve one request, in simulated time. The driver asks when it starts a
// request; the model keeps its own mechanical state (head position, cache) between requests.
// Three models: a rotational disk (seek by distance, rotational position from the simulated clock,
// media transfer, a track cache for reads), an SSD-like device (fixed cost plus bandwidth) and a
// RAM disk (a memory copy).
namespace Kernel.Block.Drivers;

public abstract class DiskModel
{
    /// <summary>A name for /sys and reports ("rotational 7200 rpm").</summary>
    public abstract string Description { get; }

    /// <summary>/sys/block/DEV/queue/rotational (a later kernel's attribute; 2.6.20 has none): 1 for a disk with a seek.</summary>
    public abstract bool Rotational { get; }

    /// <summary>Service time of a request of `sectors` at `sector` starting at simulated `nowNs`; updates the model's state.</summary>
    public abstract long ServiceNs(long sector, long sectors, bool write, long nowNs);

    /// <summary>Forget mechanical state (a new disk).</summary>
    public virtual void Reset()
    {
    }
}

/// <summary>
/// A rotational disk. Defaults resemble a 7200 rpm ATA disk of 2003 (Seagate Barracuda 7200.7
/// class): 0.8 ms track-to-track, 15 ms full stroke (about 8.4 ms average over random distances),
/// 8.33 ms per revolution (4.17 ms average rotational latency), about 500 KB a track (60 MB/s at
/// the media), 0.1 ms of command overhead, an interface of 100 MB/s (UDMA/100) for cache hits, and
/// a 2 MB read cache that holds what the last reads brought in and the rest of their track.
/// Writes go to the media (write cache off) and drop overlapping cached sectors. A request that
/// starts where the previous one ended streams on through the drive's buffer without waiting a
/// revolution for its first sector (the drive keeps transferring while the next command arrives).
/// </summary>
public sealed class RotationalDisk : DiskModel
{
    public int Rpm { get; init; } = 7200;

    public int SectorsPerTrack { get; init; } = 1000;

    public int Heads { get; init; } = 2;

    public long TrackToTrackNs { get; init; } = 800_000;

    public long FullStrokeNs { get; init; } = 15_000_000;

    public long CommandOverheadNs { get; init; } = 100_000;

    /// <summary>Interface transfer rate for cache hits, bytes per second.</summary>
    public long InterfaceBytesPerSec { get; init; } = 100_000_000;

    /// <summary>Read cache size in sectors (2 MB); 0 turns the cache off.</summary>
    public long CacheSectors { get; init; } = 4096;

    /// <summary>The capacity the seek curve spans, in sectors (set by the disk it is attached to).</summary>
    public long CapacitySectors { get; set; } = 160_000_000;

    private long _headCylinder;
    private long _cacheStart = -1, _cacheEnd = -1;
    private long _lastEnd = -1;

    public long RevolutionNs => 60_000_000_000L / Rpm;

    public long Cylinders => Math.Max(1, CapacitySectors / ((long)SectorsPerTrack * Heads));

    public override string Description => $"rotational {Rpm} rpm";

    public override bool Rotational => true;

    /// <summary>Seeks and cache hits served (for reports).</summary>
    public long Seeks { get; private set; }

    public long SeekCylinders { get; private set; }

    public long CacheHits { get; private set; }

    public long Cylinder(long sector) => sector / ((long)SectorsPerTrack * Heads);

    /// <summary>Seek time for a move of `distance` cylinders: track-to-track plus a square-root curve to full stroke.</summary>
    public long SeekNs(long distance)
    {
        if (distance == 0)
        {
            return 0;
        }
        double frac = Math.Sqrt((double)distance / Cylinders);
        return TrackToTrackNs + (long)((FullStrokeNs - TrackToTrackNs) * Math.Min(1.0, frac));
    }

    public override long ServiceNs(long sector, long sectors, bool write, long nowNs)
    {
        long end = sector + sectors;
        if (!write && CacheSectors > 0 && sector >= _cacheStart && end <= _cacheEnd)
        {
            CacheHits++;
            return CommandOverheadNs + (sectors << Bio.SECTOR_SHIFT) * 1_000_000_000L / InterfaceBytesPerSec;
        }
        if (write && end > _cacheStart && sector < _cacheEnd)
        {
            _cacheStart = _cacheEnd = -1;
        }
        long cyl = Cylinder(sector);
        long dist = Math.Abs(cyl - _headCylinder);
        long seek = SeekNs(dist);
        if (dist != 0)
        {
            Seeks++;
            SeekCylinders += dist;
        }
        long rev = RevolutionNs;
        long t = nowNs + CommandOverheadNs + seek;
        // Where the platter is when the head settles, and where the first sector passes under it.
        long angleNow = t % rev;
        long target = sector % SectorsPerTrack * rev / SectorsPerTrack;
        long rotational = sector == _lastEnd ? 0 : ((target - angleNow) % rev + rev) % rev;
        long transfer = sectors * rev / SectorsPerTrack;
        _headCylinder = Cylinder(end - 1);
        _lastEnd = end;
        if (!write && CacheSectors > 0)
        {
            // The drive keeps reading to the end of the track into its cache.
            long trackEnd = (end - 1) / SectorsPerTrack * SectorsPerTrack + SectorsPerTrack;
            _cacheEnd = trackEnd;
            _cacheStart = Math.Max(sector, trackEnd - CacheSectors);
        }
        return CommandOverheadNs + seek + rotational + transfer;
    }

    public override void Reset()
    {
        _headCylinder = 0;
        _cacheStart = _cacheEnd = _lastEnd = -1;
    }
}

/// <summary>An SSD-like device: no seek; a fixed cost per request plus bytes over a bandwidth.</summary>
public sealed class SsdDisk : DiskModel
{
    public long ReadRequestNs { get; init; } = 100_000;

    public long WriteRequestNs { get; init; } = 250_000;

    public long BytesPerSec { get; init; } = 250_000_000;

    public override string Description => "ssd";

    public override bool Rotational => false;

    public override long ServiceNs(long sector, long sectors, bool write, long nowNs) =>
        (write ? WriteRequestNs : ReadRequestNs) + (sectors << Bio.SECTOR_SHIFT) * 1_000_000_000L / BytesPerSec;
}

/// <summary>A RAM disk: a microsecond of setup and a memory copy at 2 GB/s.</summary>
public sealed class RamDiskModel : DiskModel
{
    public long RequestNs { get; init; } = 1_000;

    public long BytesPerSec { get; init; } = 2_000_000_000;

    public override string Description => "ramdisk";

    public override bool Rotational => false;

    public override long ServiceNs(long sector, long sectors, bool write, long nowNs) =>
        RequestNs + (sectors << Bio.SECTOR_SHIFT) * 1_000_000_000L / BytesPerSec;
}
