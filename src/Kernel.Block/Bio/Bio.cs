// Linux 2.6.20 include/linux/bio.h and fs/bio.c: struct bio, the unit of block I/O. A bio names a
// start sector, a direction and a vector of page pieces; bi_size is what remains to be done, and
// bio_endio takes completed bytes off the front (a driver may complete a bio in parts), then calls
// bi_end_io with the bytes just done and the error. bi_cnt pins it; the last bio_put gives it
// back to the bio_set it came from.
namespace Kernel.Block;

public sealed class Bio
{
    /// <summary>The sector size the block layer counts in (512 bytes: sector_t units).</summary>
    public const int SECTOR_SIZE = 512;

    public const int SECTOR_SHIFT = 9;

    /// <summary>BIO_MAX_PAGES: the most bio_vecs one bio may hold (the largest biovec pool).</summary>
    public const int BIO_MAX_PAGES = 256;

    /// <summary>bi_end_io: called by bio_endio with the bytes just completed and the error (0 or -errno).</summary>
    public delegate void EndIoFn(Bio bio, int bytesDone, int error);

    internal Bio()
    {
    }

    /// <summary>bi_sector: the device address of what remains, in 512-byte sectors.</summary>
    public long Sector { get; set; }

    /// <summary>bi_next: the request's chain of bios.</summary>
    public Bio? Next { get; set; }

    public BioFlags Flags { get; set; }

    public BioRw Rw { get; set; }

    /// <summary>bi_vcnt: how many bio_vecs are in use.</summary>
    public int Vcnt { get; private set; }

    /// <summary>bi_idx: the first bio_vec not yet completed (the request layer moves it as it completes whole bio_vecs).</summary>
    public int Idx { get; internal set; }

    /// <summary>bi_size: bytes still to do.</summary>
    public int Size { get; private set; }

    /// <summary>bi_max_vecs: the bio_vecs its biovec pool gave it room for.</summary>
    public int MaxVecs => IoVec.Length;

    /// <summary>bi_io_vec.</summary>
    public BioVec[] IoVec { get; internal set; } = [];

    /// <summary>bi_phys_segments: valid while BIO_SEG_VALID is set (counted against a queue's limits).</summary>
    internal int PhysSegments { get; set; }

    /// <summary>bio_cur_sectors: the sectors of the current bio_vec.</summary>
    public long CurSectors => Idx < Vcnt ? IoVec[Idx].Len >> SECTOR_SHIFT : 0;

    /// <summary>bi_end_io.</summary>
    public EndIoFn? OnEndIo { get; set; }

    /// <summary>bi_private: whatever the submitter wants back at completion.</summary>
    public object? Private { get; set; }

    /// <summary>bi_cnt: the pin count; the last put frees the bio.</summary>
    public int Cnt { get; internal set; }

    /// <summary>The set (bio_set) that allocated it and takes it back.</summary>
    internal BioSet? Set { get; set; }

    /// <summary>Which biovec pool the vector came from (BIO_POOL_IDX), -1 for none.</summary>
    internal int PoolIdx { get; set; } = -1;

    internal Kernel.Mm.Slab.SlabObject SlabObj { get; set; } = Kernel.Mm.Slab.SlabObject.None;

    internal Kernel.Mm.Slab.SlabObject VecSlabObj { get; set; } = Kernel.Mm.Slab.SlabObject.None;

    public bool IsWrite => (Rw & BioRw.WRITE) != 0;

    public bool Uptodate => (Flags & BioFlags.BIO_UPTODATE) != 0;

    /// <summary>bio_sectors: the sectors still to do.</summary>
    public long Sectors => Size >> SECTOR_SHIFT;

    /// <summary>bio_segments: the bio_vecs not yet completed.</summary>
    public int Segments => Vcnt - Idx;

    /// <summary>bio_init: a clean bio, BIO_UPTODATE, pinned once.</summary>
    internal void Init()
    {
        Sector = 0;
        Next = null;
        Flags = BioFlags.BIO_UPTODATE;
        Rw = BioRw.READ;
        Vcnt = 0;
        Idx = 0;
        Size = 0;
        OnEndIo = null;
        Private = null;
        Cnt = 1;
    }

    /// <summary>
    /// bio_add_page: append `len` bytes of frame `pfn` from `offset`. A piece that continues the
    /// last one in the same frame extends it. Returns the bytes added: `len`, or 0 when the bio is
    /// full (no bio_vec left, or past `maxSectors`, a queue's max_sectors).
    /// </summary>
    public int AddPage(int pfn, int len, int offset, int maxSectors = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pfn);
        if (len <= 0 || offset < 0 || offset + len > Kernel.Mm.MemoryLayout.PAGE_SIZE)
        {
            throw new ArgumentOutOfRangeException(nameof(len), $"a bio_vec is a piece of one page: offset {offset}, length {len}");
        }
        if (((long)Size + len) >> SECTOR_SHIFT > maxSectors)
        {
            return 0;
        }
        if (Vcnt > 0)
        {
            var prev = IoVec[Vcnt - 1];
            if (prev.Pfn == pfn && prev.Offset + prev.Len == offset)
            {
                IoVec[Vcnt - 1] = prev with { Len = prev.Len + len };
                Size += len;
                return len;
            }
        }
        if (Vcnt >= MaxVecs)
        {
            return 0;
        }
        IoVec[Vcnt++] = new BioVec(pfn, len, offset);
        Size += len;
        Flags &= ~BioFlags.BIO_SEG_VALID;
        return len;
    }

    /// <summary>
    /// bio_endio: `bytesDone` bytes from the front are complete (with `error`, 0 or -errno, which
    /// clears BIO_UPTODATE for good); the bio's sector and size move on, and bi_end_io hears of it.
    /// Completing more than remains completes what remains, as Linux does after its printk.
    /// </summary>
    public void Endio(int bytesDone, int error)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesDone);
        if (Cnt <= 0)
        {
            throw new Kernel.Core.KernelBug($"bio_endio on a freed bio (sector {Sector})");
        }
        if (Size == 0)
        {
            throw new Kernel.Core.KernelBug($"bio_endio on a bio that already ended (sector {Sector})");
        }
        if (error != 0)
        {
            Flags &= ~BioFlags.BIO_UPTODATE;
        }
        bytesDone = Math.Min(bytesDone, Size);
        Size -= bytesDone;
        Sector += bytesDone >> SECTOR_SHIFT;
        OnEndIo?.Invoke(this, bytesDone, error);
    }

    /// <summary>bio_get: one more pin.</summary>
    public void Get()
    {
        if (Cnt <= 0)
        {
            throw new Kernel.Core.KernelBug("bio_get on a freed bio");
        }
        Cnt++;
    }

    /// <summary>bio_put: the last put frees it into its set.</summary>
    public void Put()
    {
        if (Cnt <= 0)
        {
            throw new Kernel.Core.KernelBug("BUG: bio_put of a bio with no references");
        }
        if (--Cnt == 0)
        {
            Next = null;
            Set?.Free(this);
        }
    }
}
