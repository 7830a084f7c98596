// Block layer costs on the host (issue 8's targets): bios through submit, merge, dispatch and
// completion with the deadline elevator on a RAM disk (target: 1 M bios per host second), and a
// disk image's sequential O_DIRECT write and read-back through the whole stack (target: 500 MB/s).
using BenchmarkDotNet.Attributes;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Benchmarks;

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class BioBenchmarks
{
    private const int Batch = 2048;
    private const int Bios = 5 * Batch;
    private LinuxKernel _k = null!;
    private RequestQueue _q = null!;
    private BioSet _set = null!;
    private int _done;
    private long _sector;
    private Bio.EndIoFn _end = null!;

    [GlobalSetup]
    public void Setup()
    {
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000 });
        _k.Machine.EnterHostContext();
        var disk = _k.Block.AttachDisk("ram0", new RamDiskModel(), new MemoryBlockStore(256L << 20), new DiskOptions { Elevator = "deadline" });
        _q = disk.Queue;
        _set = _k.Block.FsBioSet;
        _end = (b, _, _) =>
        {
            if (b.Size == 0)
            {
                _done++;
                b.Put();
            }
        };
    }

    /// <summary>
    /// 10,240 one-page bios in ascending sectors (they merge 32 to a request), submitted from the
    /// host side in batches of 2,048 (64 requests, within nr_requests, so no submitter sleeps),
    /// each batch served and completed before the next.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Bios)]
    public int SubmitMergeDispatchComplete()
    {
        int total = 0;
        for (int b = 0; b < Bios / Batch; b++)
        {
            _done = 0;
            _k.Machine.EnterHostContext();
            for (int i = 0; i < Batch; i++)
            {
                var bio = _set.Alloc(Gfp.GFP_NOIO, 1)!;
                bio.Sector = _sector;
                _sector = (_sector + 8) % (255L << 11);
                bio.AddPage(100 + (i & 63), 4096, 0);
                bio.OnEndIo = _end;
                if (!Completed(_q.SubmitBio(BioRw.WRITE, bio)))
                {
                    throw new InvalidOperationException("a host-side submission would have slept");
                }
            }
            _q.Unplug();
            _k.Machine.RunUntil(() => _done == Batch, 10_000_000_000);
            total += _done;
        }
        return total;
    }

    private static bool Completed(ValueTask t) => t.IsCompletedSuccessfully;
}

[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class ImageBenchmarks
{
    private const long Mb = 1 << 20;
    private const int Chunks = 64;
    private string _dir = null!;
    private LinuxKernel _k = null!;
    private ImageFileStore _store = null!;
    private bool _go;
    private int _rounds;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"kernel-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        _store = ImageFileStore.Create(Path.Combine(_dir, "disk.img"), Chunks * Mb);
        _k = LinuxKernel.Boot(new KernelOptions { Cpus = 1, Hz = 1000, Memory = new MemoryOptions { MemoryBytes = 256L << 20 } });
        _k.Machine.EnterHostContext();
        _k.Block.AttachDisk("sda", new SsdDisk { BytesPerSec = 10_000_000_000, ReadRequestNs = 1_000, WriteRequestNs = 1_000 }, _store);
        _k.Spawn("io", async self =>
        {
            long buf = await self.Mmap(0, Mb, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
            for (long a = 0; a < Mb; a += 4096)
            {
                await self.Store(buf + a, a);
            }
            int fd = (int)await self.Open("/dev/sda", OpenFlags.O_RDWR | OpenFlags.O_DIRECT);
            while (true)
            {
                while (!_go)
                {
                    await self.Nanosleep(Kernel.Process.TimeSpec.FromMilliseconds(1));
                }
                for (int i = 0; i < Chunks; i++)
                {
                    await self.Pwrite(fd, buf, Mb, i * Mb);
                }
                for (int i = 0; i < Chunks; i++)
                {
                    await self.Pread(fd, buf, Mb, i * Mb);
                }
                _go = false;
                _rounds++;
            }
        });
        _k.Machine.RunUntil(() => false, 10_000_000);
    }

    /// <summary>64 MB written sequentially to a disk image with O_DIRECT (1 MB calls) and read back: 128 MB moved.</summary>
    [Benchmark]
    public int SequentialWriteAndReadBack()
    {
        int target = _rounds + 1;
        _go = true;
        _k.Machine.RunUntil(() => _rounds >= target, 3_600_000_000_000);
        return _rounds;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
