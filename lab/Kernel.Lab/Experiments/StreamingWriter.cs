// The reads-under-a-streaming-writer experiment (the problem the deadline and anticipatory
// schedulers were written for, Robert Love's "Introducing the 2.6 Kernel"): on a rotational disk a
// writer streams through one area (buffered writes of WriteChunkPages pages, each chunk fsynced,
// so the queue fills with sorted writes, as writeback fills it; it goes round one 64 MB area,
// since the page cache is not reclaimed yet), while a reader reads scattered
// 4 KB blocks of another area one at a time with O_DIRECT and notes each read's latency. For
// each elevator: read latency percentiles, the disk's throughput, and how far it seeked.
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Lab.Experiments;

public sealed record StreamingWriterOptions
{
    public string Elevator { get; init; } = "deadline";

    /// <summary>Scattered reads the reader makes.</summary>
    public int Reads { get; init; } = 200;

    /// <summary>Pages the writer writes between fsyncs (4,096: 16 MB, 128 requests of 128 KB, nr_requests).</summary>
    public int WriteChunkPages { get; init; } = 4096;

    /// <summary>The disk (a 40 GB 7200 rpm ATA disk by default): the writer starts at its first GB, the reader reads its last 10 GB.</summary>
    public long DiskBytes { get; init; } = 40L << 30;

    /// <summary>Simulated time the reader thinks between reads.</summary>
    public long ReaderThinkNs { get; init; }

    public ulong Seed { get; init; } = 1;
}

/// <summary>One elevator's run: read latencies (sorted, ns), bytes moved, simulated time, seeks and mean seek distance.</summary>
public sealed record StreamingWriterResult(string Elevator, long[] ReadLatenciesNs, long BytesRead, long BytesWritten, long SimulatedNs,
    long Seeks, double MeanSeekCylinders)
{
    public long Percentile(double p) => ReadLatenciesNs.Length == 0 ? 0
        : ReadLatenciesNs[Math.Clamp((int)Math.Ceiling(p / 100 * ReadLatenciesNs.Length) - 1, 0, ReadLatenciesNs.Length - 1)];

    /// <summary>Disk throughput over the run, MB/s of simulated time.</summary>
    public double ThroughputMBps => SimulatedNs == 0 ? 0 : (BytesRead + BytesWritten) / 1e6 / (SimulatedNs / 1e9);
}

public static class StreamingWriter
{
    private const long Page = MemoryLayout.PAGE_SIZE;

    public static StreamingWriterResult Run(StreamingWriterOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = 2, Hz = 1000, Memory = new MemoryOptions { MemoryBytes = 512L << 20 } });
        k.Machine.EnterHostContext();
        var model = new RotationalDisk();
        var disk = k.Block.AttachDisk("sda", model, new MemoryBlockStore(o.DiskBytes), new DiskOptions { Elevator = o.Elevator });
        var latencies = new List<long>();
        bool readerDone = false;
        long written = 0;
        var reader = k.Spawn("reader", async self =>
        {
            long buf = await self.Mmap(0, Page, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDONLY | OpenFlags.O_DIRECT);
            var rng = new Prng(o.Seed);
            long areaStart = (o.DiskBytes - (10L << 30)) / Page, areaPages = (10L << 30) / Page;
            await self.Nanosleep(TimeSpec.FromMilliseconds(200)); // let the writer fill the queue first
            for (int i = 0; i < o.Reads; i++)
            {
                long t0 = self.Now;
                long r = await self.Pread(fd, buf, Page, (areaStart + rng.Next(areaPages)) * Page);
                if (r != Page)
                {
                    throw new InvalidOperationException($"read returned {r}");
                }
                latencies.Add(self.Now - t0);
                if (o.ReaderThinkNs > 0)
                {
                    await self.Compute(o.ReaderThinkNs);
                }
            }
            readerDone = true;
            await self.Exit(0);
        });
        var writer = k.Spawn("writer", async self =>
        {
            long chunk = o.WriteChunkPages * Page;
            long buf = await self.Mmap(0, chunk, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_WRONLY);
            long pos = 1L << 30;
            while (!readerDone)
            {
                if (await self.Pwrite(fd, buf, chunk, pos) != chunk || await self.Fsync(fd) != 0)
                {
                    throw new InvalidOperationException("the writer's write failed");
                }
                written += chunk;
                // Round the same 64 MB: without page reclaim (issue 10) a longer stream would fill memory with cache.
                pos = (pos + chunk - (1L << 30)) % (64L << 20) + (1L << 30);
            }
            await self.Exit(0);
        });
        long start = k.Now;
        k.RunUntilExit(reader, 3_600_000_000_000);
        k.RunUntilExit(writer, 3_600_000_000_000);
        if (reader.ExitCode != 0 || writer.ExitCode != 0)
        {
            throw new InvalidOperationException($"the reader or writer failed under {o.Elevator}");
        }
        var problems = k.CheckInvariants();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems));
        }
        var sorted = latencies.Order().ToArray();
        return new StreamingWriterResult(o.Elevator, sorted, (long)o.Reads * Page, written, k.Now - start, model.Seeks,
            model.Seeks == 0 ? 0 : (double)model.SeekCylinders / model.Seeks);
    }
}
