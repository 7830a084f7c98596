// Linux 2.6.20 block/as-iosched.c struct as_io_context and enum anticipation_status: what the
// anticipatory scheduler remembers of each process (think time, seek distance, whether it still
// runs) and the states its anticipation passes through.
namespace Kernel.Block;

/// <summary>struct as_io_context: one process's I/O history as AS keeps it (fixed point, 1.0 = 256).</summary>
public sealed class AsIoContext
{
    internal AsIoContext(IoContext ioc) => Ioc = ioc;

    public IoContext Ioc { get; }

    /// <summary>AS_TASK_RUNNING: the process has not exited.</summary>
    public bool Running => !Ioc.Exited && Ioc.Task.ExitState == 0;

    /// <summary>AS_TASK_IOSTARTED: it has started some I/O.</summary>
    public bool IoStarted { get; internal set; }

    /// <summary>AS_TASK_IORUNNING: some of its I/O has completed.</summary>
    public bool IoRunning { get; internal set; }

    public int NrQueued { get; internal set; }

    public int NrDispatched { get; internal set; }

    public uint LastEndRequest { get; internal set; }

    public long LastRequestPos { get; internal set; }

    public ulong TtimeTotal { get; internal set; }

    public ulong TtimeSamples { get; internal set; }

    /// <summary>ttime_mean: mean think time between its reads, in jiffies.</summary>
    public ulong TtimeMean { get; internal set; }

    public ulong SeekTotal { get; internal set; }

    public ulong SeekSamples { get; internal set; }

    /// <summary>seek_mean: mean seek distance between its reads, in sectors.</summary>
    public long SeekMean { get; internal set; }
}

/// <summary>The anticipation state machine's states (enum anticipation_status).</summary>
public enum AnticStatus
{
    Off = 0,
    WaitReq,
    WaitNext,
    Finished,
}
