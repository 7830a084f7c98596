// Swap's host cost (issue 10): a page's round trip through swap, and a 1 GiB swapoff.
// RoundTrip: a program on a 64 MB machine with a 512 MB RAM-disk swap area writes 256 MB of
// anonymous memory (two words a page) and reads it back, so about 192 MB go out to swap and come
// back in through do_swap_page; the figure is host time per page of the 256 MB. Swapoff: on a
// 1.5 GiB machine a 1 GiB process is pushed out to swap by a 1.4 GiB one that then exits; the
// timed part is swapoff bringing the first one's pages (about 1 GiB) back. Setup is not timed.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Mm.Swap;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class SwapBenchmarks
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const long RoundTripBytes = 256L << 20;
    private LinuxKernel _k = null!;
    private bool _stop;

    private static LinuxKernel BootWithSwap(long memBytes, long swapBytes)
    {
        var k = LinuxKernel.Boot(new KernelOptions
        {
            Cpus = 1,
            Hz = 1000,
            Memory = new MemoryOptions { MemoryBytes = memBytes, Arch = Architecture.Flat64 },
        });
        k.Proc.Write("/proc/sys/vm/overcommit_memory", "1");
        var store = new MemoryBlockStore(swapBytes);
        store.Write(0, SwapHeader.Make(swapBytes / Page));
        k.Block.AttachDisk("sdb", new RamDiskModel(), store);
        var t = k.Spawn("swapon", async self =>
        {
            if (await self.Swapon("/dev/sdb") != 0)
            {
                throw new InvalidOperationException("swapon failed");
            }
            await self.Exit(0);
        });
        k.RunUntilExit(t);
        return k;
    }

    private static async ValueTask Fill(Kernel.Syscalls.UserTask self, long a, long bytes)
    {
        for (long off = 0; off < bytes; off += Page)
        {
            await self.Store(a + off, off);
            await self.Store(a + off + Page - 8, ~off);
        }
    }

    [IterationSetup(Target = nameof(SwapOutAndInRoundTrip))]
    public void SetupRoundTrip() => _k = BootWithSwap(64L << 20, 512L << 20);

    [Benchmark(OperationsPerInvoke = (int)(RoundTripBytes / Page))]
    public long SwapOutAndInRoundTrip()
    {
        long bad = 0;
        var t = _k.Spawn("roundtrip", async self =>
        {
            long a = await self.Mmap(0, RoundTripBytes, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await Fill(self, a, RoundTripBytes);
            for (long off = 0; off < RoundTripBytes; off += Page)
            {
                if (await self.Load<long>(a + off) != off || await self.Load<long>(a + off + Page - 8) != ~off)
                {
                    bad++;
                }
            }
            await self.Exit(0);
        });
        _k.RunUntilExit(t);
        return bad == 0 ? _k.Memory.Swap.PswpIn : throw new InvalidOperationException($"{bad} pages came back wrong");
    }

    [IterationSetup(Target = nameof(Swapoff1GiB))]
    public void SetupSwapoff()
    {
        _k = BootWithSwap(1536L << 20, 2L << 30);
        _stop = false;
        bool filled = false;
        _k.Spawn("resident", async self =>
        {
            long a = await self.Mmap(0, 1L << 30, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await Fill(self, a, 1L << 30);
            filled = true;
            while (!_stop)
            {
                await self.Nanosleep(10_000_000);
            }
            await self.Exit(0);
        });
        var hog = _k.Spawn("hog", async self =>
        {
            while (!filled)
            {
                await self.Nanosleep(10_000_000);
            }
            long b = await self.Mmap(0, 1400L << 20, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            await Fill(self, b, 1400L << 20);
            await self.Exit(0);
        });
        _k.RunUntilExit(hog);
    }

    [Benchmark]
    public long Swapoff1GiB()
    {
        long r = -1, before = _k.Memory.Swap.UnusedPages;
        var t = _k.Spawn("swapoff", async self =>
        {
            r = await self.Swapoff("/dev/sdb");
            await self.Exit(0);
        });
        _k.RunUntilExit(t);
        _stop = true;
        _lastUnused = _k.Memory.Swap.UnusedPages - before;
        return r == 0 ? _lastUnused : throw new InvalidOperationException($"swapoff: {r}");
    }

    private long _lastUnused;

    /// <summary>The pages the timed swapoff brought back, in the log (BenchmarkDotNet shows no return values).</summary>
    [IterationCleanup(Target = nameof(Swapoff1GiB))]
    public void ReportSwapoff() => Console.WriteLine($"// swapoff brought back {_lastUnused} pages");
}
