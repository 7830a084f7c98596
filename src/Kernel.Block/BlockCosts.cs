// Simulated costs of the block layer's code paths, charged to the CPU that runs them. The queue
// lock is held for the *Ns of the step that takes it (Machine.ChargeLock), so a lock shared by many
// queues (2.4's io_request_lock) shows as spin time. Magnitudes are those of a 2003-era CPU:
// about a microsecond to queue a bio, less when it merges.
namespace Kernel.Block;

public sealed record BlockCosts
{
    /// <summary>__make_request's first hold: elv_merge and, if it merges, the merge.</summary>
    public long MergeNs { get; init; } = 400;

    /// <summary>The second hold for a new request: init, plug, add_request into the elevator.</summary>
    public long AddRequestNs { get; init; } = 500;

    /// <summary>request_fn: elv_next_request, the dispatch and the command set-up.</summary>
    public long DispatchNs { get; init; } = 400;

    /// <summary>The completion softirq: end_that_request_chunk/last and the bios' end_io.</summary>
    public long CompleteNs { get; init; } = 600;

    /// <summary>The hardirq handler of a disk interrupt, outside the queue lock.</summary>
    public long IrqHandlerNs { get; init; } = 1_000;

    /// <summary>An unplug (generic_unplug_device) under the queue lock.</summary>
    public long UnplugNs { get; init; } = 100;

    /// <summary>Copying one byte by the CPU (a bounce buffer's copy), in picoseconds: 1 GB/s.</summary>
    public long CopyPsPerByte { get; init; } = 1_000;
}
