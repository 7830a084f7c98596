using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Mm;

namespace Kernel.Tests.Block;

/// <summary>Bios and queues for the block tests, built from the host side of a booted kernel.</summary>
internal static class BlockKit
{
    public const int READ = 0, WRITE = 1;

    /// <summary>A queue with no driver: requests stay queued until a test takes them.</summary>
    public static RequestQueue Queue(LinuxKernel k, string elevator, string name = "sdq")
    {
        k.Machine.EnterHostContext();
        return new RequestQueue(BlockLayer.Of(k.Memory), name, elevator);
    }

    /// <summary>A bio of `sectors` (a multiple of 8) at `sector`, one page per 4 KB, pages far apart so no two are physically contiguous.</summary>
    public static Bio NewBio(LinuxKernel k, long sector, int sectors, bool write, int pfnBase = 1000, Bio.EndIoFn? endIo = null)
    {
        var b = BlockLayer.Of(k.Memory).FsBioSet;
        int pages = Math.Max(1, sectors / 8);
        var bio = b.Alloc(Gfp.GFP_NOIO, pages) ?? throw new InvalidOperationException("no bio");
        bio.Sector = sector;
        bio.Rw = write ? BioRw.WRITE : BioRw.READ;
        int left = sectors * 512;
        for (int i = 0; left > 0; i++)
        {
            int n = Math.Min(4096, left);
            bio.AddPage(pfnBase + 2 * i, n, 0);
            left -= n;
        }
        bio.OnEndIo = endIo ?? ((done, _, _) => { if (done.Size == 0) { done.Put(); } });
        return bio;
    }

    /// <summary>Submit `bio` from the host side (it must not need to sleep).</summary>
    public static void Submit(RequestQueue q, Bio bio)
    {
        var t = q.GenericMakeRequest(bio);
        if (!t.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the submission would sleep");
        }
    }

    /// <summary>Take every request the elevator gives, in order, as a driver would, and finish each; returns their start sectors.</summary>
    public static List<long> DrainOrder(RequestQueue q, int max = int.MaxValue)
    {
        var order = new List<long>();
        while (order.Count < max && q.ElvNextRequest() is { } rq)
        {
            q.BlkdevDequeueRequest(rq);
            order.Add(rq.Sector);
            Finish(q, rq);
        }
        return order;
    }

    public static void Finish(RequestQueue q, Request rq, int error = 0)
    {
        if (q.EndThatRequestChunk(rq, error, (int)(rq.HardNrSectors * 512)))
        {
            throw new InvalidOperationException("bytes left");
        }
        q.EndThatRequestLast(rq, error);
    }

    /// <summary>A booted kernel with a disk attached.</summary>
    public static (LinuxKernel K, Gendisk Disk, DiskDriver Driver) WithDisk(DiskModel? model = null, string? elevator = null, long bytes = 64L << 20,
        int cpus = 1, int hz = 1000, BlockStore? store = null)
    {
        var k = Support.KernelBuilder.New().Cpus(cpus).Hz(hz).BootForHostCalls();
        var block = BlockLayer.Of(k.Memory);
        var disk = block.AttachDisk("sda", model ?? new SsdDisk(), store ?? new MemoryBlockStore(bytes), new DiskOptions { Elevator = elevator });
        return (k, disk, block.DriverOf(disk));
    }
}
