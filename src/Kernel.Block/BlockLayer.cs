// One kernel's block layer (what block/genhd.c, ll_rw_blk.c's blk_dev_init and the elevator list
// hold globally in 2.6.20): the registered elevators, kblockd, the per-CPU BLOCK_SOFTIRQ
// completion lists, the disks with their /proc/diskstats and /sys/block entries, and the
// page-in/page-out counters. BlockLayer.Of(memory) creates it the first time a kernel asks.
using System.Runtime.CompilerServices;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Smp;
using Kernel.Mm;

namespace Kernel.Block;

/// <summary>How a disk is attached.</summary>
public sealed record DiskOptions
{
    /// <summary>The elevator (null: the registry's default).</summary>
    public string? Elevator { get; init; }

    /// <summary>The CPU its completion interrupts go to.</summary>
    public int IrqCpu { get; init; }

    /// <summary>max_hw_sectors (blk_queue_max_sectors): 256 for a 2003 ATA disk (LBA28 commands).</summary>
    public int MaxSectors { get; init; } = 256;

    /// <summary>Share the one io_request_lock with every other queue that asks (2.4's locking), instead of a lock of its own.</summary>
    public bool SharedIoRequestLock { get; init; }

    /// <summary>
    /// The highest page frame the device's DMA reaches (blk_queue_bounce_limit): -1 reaches all
    /// memory; 0 (BLK_BOUNCE_HIGH, 2.6.20's default for a queue) reaches lowmem only, so highmem
    /// pages are bounced.
    /// </summary>
    public int DmaLimitPfn { get; init; } = -1;
}

public sealed class BlockLayer
{
    private static readonly ConditionalWeakTable<MemorySubsystem, BlockLayer> PerKernel = new();

    private readonly LinkedList<Request>[] _done;
    private readonly List<Gendisk> _disks = new();
    private readonly Dictionary<string, DiskDriver> _drivers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BlockDevice> _bdevs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Action> _unregisterSysfs = new(StringComparer.Ordinal);
    private readonly List<string> _log = new();
    private Kblockd? _kblockd;
    private BioSet? _fsBioSet;
    private int _nextSd;

    private BlockLayer(MemorySubsystem mem)
    {
        Memory = mem;
        Machine = mem.Machine;
        _done = Machine.Cpus.Select(_ => new LinkedList<Request>()).ToArray();
        Machine.Softirqs.Open(SoftirqNr.BLOCK_SOFTIRQ, BlkDoneSoftirq);
        Machine.ProcFiles.Register("/proc/diskstats", () => string.Concat(_disks.Select(d => d.DiskstatsLine())));
    }

    /// <summary>The block layer of the kernel that owns `mem` (created on first use).</summary>
    public static BlockLayer Of(MemorySubsystem mem)
    {
        ArgumentNullException.ThrowIfNull(mem);
        lock (PerKernel)
        {
            return PerKernel.GetValue(mem, m => new BlockLayer(m));
        }
    }

    /// <summary>The block layer of `mem`'s kernel if one was created, else null (nothing is created).</summary>
    public static BlockLayer? Existing(MemorySubsystem mem)
    {
        ArgumentNullException.ThrowIfNull(mem);
        lock (PerKernel)
        {
            return PerKernel.TryGetValue(mem, out var b) ? b : null;
        }
    }

    public MemorySubsystem Memory { get; }

    public Machine Machine { get; }

    public ElevatorRegistry Elevators { get; } = ElevatorRegistry.CreateDefault();

    public BlockCosts Costs { get; set; } = new();

    /// <summary>kblockd (its threads start on first use).</summary>
    public Kblockd Kblockd => _kblockd ??= new Kblockd(Machine);

    /// <summary>fs_bio_set: the bios file systems and block devices allocate from.</summary>
    public BioSet FsBioSet => _fsBioSet ??= BioSet.CreateFsBioSet(Memory);

    /// <summary>The bounce page pool (made when a queue first bounces).</summary>
    public BouncePool BouncePool => _bouncePool ??= new BouncePool(Memory);

    private BouncePool? _bouncePool;

    /// <summary>io_request_lock: the one lock queues attached with SharedIoRequestLock share.</summary>
    public KSpinLock IoRequestLock { get; } = new("io_request_lock");

    /// <summary>The attached disks, in attach order.</summary>
    public IReadOnlyList<Gendisk> Disks => _disks;

    /// <summary>A disk by name, or null.</summary>
    public Gendisk? Find(string name) => _disks.FirstOrDefault(d => d.Name == name);

    /// <summary>The driver of an attached disk (its model, store and fault injection).</summary>
    public DiskDriver DriverOf(Gendisk disk)
    {
        ArgumentNullException.ThrowIfNull(disk);
        return _drivers[disk.Name];
    }

    /// <summary>The block_device (and /dev node inode) of an attached disk.</summary>
    public BlockDevice BdevOf(Gendisk disk)
    {
        ArgumentNullException.ThrowIfNull(disk);
        return _bdevs[disk.Name];
    }

    /// <summary>Raised after a disk is attached (the kernel mounts /dev on the first).</summary>
    public event Action<Gendisk>? DiskAttached;

    /// <summary>Sectors read and written through submit_bio (the vm events PGPGIN and PGPGOUT; /proc/vmstat shows them halved, in KB).</summary>
    public long PgpgIn
    {
        get => Memory.PgpgIn;
        internal set => Memory.PgpgIn = value;
    }

    public long PgpgOut
    {
        get => Memory.PgpgOut;
        internal set => Memory.PgpgOut = value;
    }

    /// <summary>The block layer's kernel messages (printk), oldest first.</summary>
    public IReadOnlyList<string> Log => _log;

    internal void Printk(string line)
    {
        if (_log.Count < 10_000)
        {
            _log.Add(line);
        }
    }

    /// <summary>
    /// Attach a disk: a gendisk of the store's size, a request queue with its elevator, and the
    /// driver serving it with `model`'s timing. `name` is a fresh lower-case name ("sda", "ram0");
    /// ArgumentException for a taken or malformed name or an unknown elevator.
    /// </summary>
    public Gendisk AttachDisk(string name, DiskModel model, BlockStore store, DiskOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(store);
        options ??= new DiskOptions();
        if (!name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9')) || name.Length > 31)
        {
            throw new ArgumentException($"a disk name is lower-case letters and digits: {name}", nameof(name));
        }
        if (Find(name) is not null)
        {
            throw new ArgumentException($"a disk named {name} is attached already", nameof(name));
        }
        if (options.IrqCpu < 0 || options.IrqCpu >= Machine.Cpus.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.IrqCpu, "the IRQ CPU is one of the machine's");
        }
        if (options.Elevator is { } e && !Elevators.Contains(e))
        {
            throw new ArgumentException($"no I/O scheduler {e} (have: {string.Join(", ", Elevators.Names)})", nameof(options));
        }
        var q = new RequestQueue(this, name, options.Elevator, options.SharedIoRequestLock ? IoRequestLock : null);
        q.SetMaxSectors(options.MaxSectors);
        if (options.DmaLimitPfn >= 0)
        {
            q.BouncePfn = options.DmaLimitPfn == 0 ? LowmemLimitPfn() : options.DmaLimitPfn;
        }
        if (model is RotationalDisk rd)
        {
            rd.CapacitySectors = store.CapacityBytes >> Bio.SECTOR_SHIFT;
        }
        (int major, int minor) = name.StartsWith("ram", StringComparison.Ordinal) && int.TryParse(name.AsSpan(3), out int n) ? (1, n)
            : name.StartsWith("sd", StringComparison.Ordinal) ? (8, 16 * _nextSd++) : (254, 16 * _disks.Count);
        var disk = new Gendisk(name, major, minor, store.CapacityBytes >> Bio.SECTOR_SHIFT, q) { ReadOnly = store.IsReadOnly }; // set_disk_ro
        var driver = new DiskDriver(q, model, store, options.IrqCpu);
        var aops = new BlockDevAddressSpaceOperations(this);
        var bdev = new BlockDevice(disk, new BlockDevFileOperations(this), aops);
        aops.Bdev = bdev;
        _disks.Add(disk);
        _drivers.Add(name, driver);
        _bdevs.Add(name, bdev);
        _unregisterSysfs.Add(name, BlockSysfs.Register(this, disk));
        Memory.Writeback.StartPdflush(); // the first disk gives writeback something to write to
        DiskAttached?.Invoke(disk);
        return disk;
    }

    /// <summary>
    /// Detach a disk (del_gendisk and blk_cleanup_queue): its /dev node, /sys/block entry and
    /// /proc/diskstats line go, its cached pages are dropped, its elevator exits, and its store is
    /// disposed (an image file is closed and unlocked) unless `disposeStore` is false. An open
    /// disk, one with I/O queued or in flight, or one with dirty cached pages is busy:
    /// InvalidOperationException, and nothing changes.
    /// </summary>
    public void DetachDisk(string name, bool disposeStore = true)
    {
        ArgumentNullException.ThrowIfNull(name);
        var disk = Find(name) ?? throw new ArgumentException($"no disk named {name} is attached", nameof(name));
        var q = disk.Queue;
        var bdev = _bdevs[name];
        var driver = _drivers[name];
        if (Memory.Swap.Areas.Any(a => a.Mapping == bdev.Mapping))
        {
            throw new InvalidOperationException($"{name} is busy: it is a swap area (swapoff it first)");
        }
        if (bdev.Openers > 0)
        {
            throw new InvalidOperationException($"{name} is busy: {bdev.Openers} open file(s) on /dev/{name} (EBUSY)");
        }
        if (q.Count[0] + q.Count[1] > 0 || q.BacklogCount > 0 || driver.Active is not null || bdev.WritebackInFlight > 0)
        {
            throw new InvalidOperationException($"{name} is busy: I/O is queued or in flight (EBUSY)");
        }
        var mapping = bdev.Mapping;
        foreach (var (_, pfn) in mapping.PageTree)
        {
            ref var page = ref Memory.PageAt(pfn);
            if (page.Test(PageFlag.PG_dirty) || page.Test(PageFlag.PG_locked) || page.MapCount >= 0)
            {
                throw new InvalidOperationException($"{name} is busy: its page cache holds dirty, locked or mapped pages (EBUSY)");
            }
        }
        foreach (var (index, pfn) in mapping.PageTree.ToArray())
        {
            Kernel.Mm.Filemap.GenericFile.RemoveFromPageCache(Memory, mapping, index, pfn);
        }
        q.RemovePlug();
        q.Elevator.ExitQueue();
        _unregisterSysfs[name]();
        _unregisterSysfs.Remove(name);
        _disks.Remove(disk);
        _drivers.Remove(name);
        _bdevs.Remove(name);
        if (disposeStore)
        {
            driver.Store.Dispose();
        }
        Printk($"{name}: detached");
    }

    /// <summary>Dispose every attached disk's store (the kernel shuts down: image files are closed and unlocked).</summary>
    public void DisposeStores()
    {
        foreach (var d in _drivers.Values)
        {
            d.Store.Dispose();
        }
    }

    /// <summary>The first frame above lowmem (blk_max_low_pfn): the first highmem frame, or all of memory without highmem.</summary>
    public int LowmemLimitPfn()
    {
        var high = Memory.Zones.FirstOrDefault(z => z.IsHighmem && z.PresentPages > 0);
        return high is null ? int.MaxValue : (int)high.ZoneStartPfn;
    }

    /// <summary>
    /// Consistency of every disk's queue: its allocated requests are exactly those queued, in the
    /// elevator, with the driver or awaiting the completion softirq; the disk's in_flight agrees;
    /// each request's bios cover its sectors contiguously.
    /// </summary>
    public IReadOnlyList<string> CheckInvariants()
    {
        var problems = new List<string>();
        foreach (var d in _disks)
        {
            var q = d.Queue;
            int allocated = q.Count[0] + q.Count[1];
            int held = q.DispatchCount + q.Elevator.Queued + q.InFlight;
            if (allocated != held)
            {
                problems.Add($"{d}: {allocated} requests allocated but {held} queued, in the elevator or in flight");
            }
            if (q.NrSorted != q.Elevator.Queued)
            {
                problems.Add($"{d}: nr_sorted {q.NrSorted} but the elevator holds {q.Elevator.Queued}");
            }
            if (d.InFlight != allocated)
            {
                problems.Add($"{d}: in_flight {d.InFlight} but {allocated} requests exist");
            }
            q.Elevator.CheckInvariants(problems);
            foreach (var rq in q.DispatchQueue.Concat(q.Elevator.QueuedRequests))
            {
                long sector = rq.Sector, bytes = 0;
                for (var b = rq.Bio; b is not null; b = b.Next)
                {
                    if (b.Sector != sector)
                    {
                        problems.Add($"{d}: request {rq} has a bio at {b.Sector}, expected {sector}");
                    }
                    sector += b.Sectors;
                    bytes += b.Size;
                }
                if (bytes != rq.NrSectors << Bio.SECTOR_SHIFT)
                {
                    problems.Add($"{d}: request {rq} holds {bytes} bytes of bios for {rq.NrSectors} sectors");
                }
            }
        }
        return problems;
    }

    /// <summary>blk_complete_request's half: queue `rq` on this CPU's done list and raise BLOCK_SOFTIRQ.</summary>
    internal void QueueDone(Request rq)
    {
        var cpu = Machine.ThisCpu;
        _done[cpu.Id].AddLast(rq.DoneNode);
        Machine.Softirqs.Raise(cpu, SoftirqNr.BLOCK_SOFTIRQ);
    }

    /// <summary>blk_done_softirq: finish every request on this CPU's list through its queue's softirq_done_fn.</summary>
    private void BlkDoneSoftirq(Cpu cpu)
    {
        var list = _done[cpu.Id];
        while (list.First is { } node)
        {
            list.Remove(node);
            var rq = node.Value;
            rq.Q.SoftirqDoneFn!(rq);
        }
    }
}
