// The seed's two other block-layer comparisons (Robert Love, "Introducing the 2.6 Kernel": 2.5's
// per-queue locks replacing 2.4's io_request_lock, and I/O to highmem without bounce buffers):
//  - four RAM disks on four CPUs, each CPU writing its own disk with O_DIRECT, under one shared
//    lock and under a lock per queue: contention, spin time and how long the writes took;
//  - O_DIRECT I/O from a program's (highmem) pages to a disk whose DMA reaches highmem and to one
//    limited to lowmem: bounce copies, bytes copied and lowmem pages the bouncing held.
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core.Tasks;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Lab.Experiments;

/// <summary>One io_request_lock run: writes done, lock acquisitions, contentions and spin, simulated time.</summary>
public sealed record IoLockResult(bool Shared, long Ios, long Acquisitions, long Contentions, long SpinNs, long SimulatedNs);

/// <summary>One bounce run: bytes moved, bios bounced, bytes copied, the most lowmem bounce pages held at once, simulated time.</summary>
public sealed record BounceResult(bool LowmemOnlyDma, long Bytes, long BouncedBios, long BytesCopied, int MaxBouncePages, long SimulatedNs);

public static class BlockLocking
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    /// <summary>Four CPUs, four RAM disks, `writesPerCpu` O_DIRECT page writes each.</summary>
    public static IoLockResult IoRequestLock(bool shared, int writesPerCpu = 300)
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 4, Hz = 1000 });
        k.Machine.EnterHostContext();
        var disks = Enumerable.Range(0, 4).Select(i => k.Block.AttachDisk($"ram{i}", new RamDiskModel(), new MemoryBlockStore(16L << 20),
            new DiskOptions { IrqCpu = i, SharedIoRequestLock = shared })).ToList();
        long start = k.Now;
        var tasks = Enumerable.Range(0, 4).Select(i => k.Spawn($"writer{i}", async self =>
        {
            long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await self.Store(buf, i);
            int fd = (int)await self.Open($"/dev/ram{i}", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            for (int n = 0; n < writesPerCpu; n++)
            {
                if (await self.Pwrite(fd, buf, Page, n % 1000 * Page) != Page)
                {
                    throw new InvalidOperationException("a write failed");
                }
            }
            await self.Exit(0);
        }, new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(i) })).ToList();
        foreach (var t in tasks)
        {
            k.RunUntilExit(t, 600_000_000_000);
        }
        Check(k);
        var locks = shared ? [k.Block.IoRequestLock] : disks.Select(d => d.Queue.QueueLock).ToArray();
        return new IoLockResult(shared, disks.Sum(d => d.Stats.Ios[1]), locks.Sum(l => l.Acquisitions), locks.Sum(l => l.Contentions),
            locks.Sum(l => l.SpinNs), k.Now - start);
    }

    /// <summary>A program writes and reads back `pages` pages of its own (highmem) memory with O_DIRECT, `rounds` times.</summary>
    public static BounceResult Bounce(bool lowmemOnlyDma, int pages = 64, int rounds = 10)
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { MemoryBytes = 1536L << 20 } });
        k.Machine.EnterHostContext();
        k.Block.AttachDisk("sda", new SsdDisk(), new MemoryBlockStore(64L << 20), new DiskOptions { DmaLimitPfn = lowmemOnlyDma ? 0 : -1 });
        long start = k.Now;
        var t = k.Spawn("io", async self =>
        {
            long bytes = pages * Page;
            long buf = await self.Mmap(0, bytes, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            for (long a = buf; a < buf + bytes; a += Page)
            {
                await self.Store(a, a);
            }
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            for (int r = 0; r < rounds; r++)
            {
                if (await self.Pwrite(fd, buf, bytes, r * bytes) != bytes || await self.Pread(fd, buf, bytes, r * bytes) != bytes)
                {
                    throw new InvalidOperationException("I/O failed");
                }
            }
            await self.Exit(0);
        });
        k.RunUntilExit(t, 600_000_000_000);
        Check(k);
        var pool = k.Block.BouncePool;
        return new BounceResult(lowmemOnlyDma, 2L * rounds * pages * Page, pool.BouncedBios, pool.BytesCopied, pool.MaxInUse, k.Now - start);
    }

    private static void Check(LinuxKernel k)
    {
        var problems = k.CheckInvariants();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems));
        }
    }
}
