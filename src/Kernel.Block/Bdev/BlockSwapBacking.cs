// Linux 2.6.20 mm/page_io.c get_swap_bio and submit_bio for a swap partition: one page, one bio
// from fs_bio_set at sector offset * 8 of the device (the area's one extent starts at its first
// page), written or read without the device's page cache; the end_io hands the page back to the
// swap code (end_swap_bio_write / end_swap_bio_read). Unplug is swap_unplug_io_fn for this area.
using Kernel.Mm;
using Kernel.Mm.Swap;

namespace Kernel.Block;

public sealed class BlockSwapBacking : ISwapBacking
{
    private readonly BlockLayer _block;
    private readonly BlockDevice _bdev;

    public BlockSwapBacking(BlockLayer block, BlockDevice bdev)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(bdev);
        _block = block;
        _bdev = bdev;
    }

    public bool SubmitWrite(int pfn, long offset) => Submit(BioRw.WRITE, pfn, offset, WriteEndIo);

    public bool SubmitRead(int pfn, long offset) => Submit(BioRw.READ, pfn, offset, ReadEndIo);

    public void Unplug() => _bdev.Queue.Unplug();

    private bool Submit(BioRw rw, int pfn, long offset, Bio.EndIoFn endIo)
    {
        var bio = _block.FsBioSet.Alloc(Gfp.GFP_NOIO, 1);
        if (bio is null)
        {
            return false;
        }
        bio.Sector = offset << (MemoryLayout.PAGE_SHIFT - Bio.SECTOR_SHIFT);
        bio.AddPage(pfn, MemoryLayout.PAGE_SIZE, 0);
        bio.OnEndIo = endIo;
        if (rw == BioRw.WRITE)
        {
            _bdev.PagesWritten++;
        }
        else
        {
            _bdev.PagesRead++;
        }
        _bdev.Queue.SubmitBioNoWait(rw, bio);
        return true;
    }

    private void WriteEndIo(Bio bio, int bytesDone, int error)
    {
        if (bio.Size != 0)
        {
            return;
        }
        _block.Memory.Swap.EndSwapWrite(bio.IoVec[0].Pfn, bio.Uptodate);
        bio.Put();
    }

    private void ReadEndIo(Bio bio, int bytesDone, int error)
    {
        if (bio.Size != 0)
        {
            return;
        }
        _block.Memory.Swap.EndSwapRead(bio.IoVec[0].Pfn, bio.Uptodate);
        bio.Put();
    }
}
