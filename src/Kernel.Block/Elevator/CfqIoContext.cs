// Linux 2.6.20 struct cfq_io_context: what CFQ knows of one process on one queue: its sync and
// async cfq_queues, and the think-time and seek-distance history (fixed point, 1.0 = 256) that
// decides whether idling for its next request is worth it.
namespace Kernel.Block;

public sealed class CfqIoContext
{
    internal CfqIoContext(IoContext ioc, CfqElevator cfqd, uint now)
    {
        Ioc = ioc;
        Cfqd = cfqd;
        LastEndRequest = now;
    }

    public IoContext Ioc { get; }

    /// <summary>key: the queue's CFQ instance; null once the task exited or the elevator went.</summary>
    public CfqElevator? Cfqd { get; internal set; }

    /// <summary>cfqq[ASYNC], cfqq[SYNC].</summary>
    internal CfqQueue?[] Cfqq { get; } = new CfqQueue?[2];

    public uint LastEndRequest { get; internal set; }

    public uint LastQueue { get; internal set; }

    public long LastRequestPos { get; internal set; }

    public ulong TtimeTotal { get; internal set; }

    public ulong TtimeSamples { get; internal set; }

    /// <summary>ttime_mean: mean think time in jiffies.</summary>
    public ulong TtimeMean { get; internal set; }

    public ulong SeekSamples { get; internal set; }

    public ulong SeekTotal { get; internal set; }

    /// <summary>seek_mean: mean seek distance in sectors.</summary>
    public long SeekMean { get; internal set; }

    /// <summary>CIC_SEEKY: mean seeks beyond 128 K sectors.</summary>
    public bool Seeky => SeekMean > 128 * 1024;
}
